// Finding this host's GPUs: CUDA_VISIBLE_DEVICES when set, else `nvidia-smi -L`.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace orrery::raylet {

// The GPU ids a raylet may hand out, as CUDA names them (the entries of CUDA_VISIBLE_DEVICES,
// or "0".."n-1" from nvidia-smi). Empty when there are none.
// `env` and `run` are seams for tests: read a variable, run a command and return its stdout.
std::vector<std::string> DetectGpus(const std::function<const char*(const char*)>& env,
                                    const std::function<std::string(const std::string&)>& run);

// The standard output of `command` run by the shell ("" when it cannot run).
std::string RunCommand(const std::string& command);

// DetectGpus on this process's environment and real commands.
std::vector<std::string> DetectGpus();

}  // namespace orrery::raylet
