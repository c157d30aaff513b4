// EventLoop: one boost::asio::io_context and the thread that runs it. Each component keeps its
// control-plane state on one of these; everything else posts onto it. Tests drive it by hand
// with io().poll() / io().run_one() instead of starting a thread.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/post.hpp"

namespace orrery {

namespace internal {
// Destroys `work` on a thread kept for that, never on the caller's (see EventLoop::Dispatcher).
void DestroyOnReaperThread(std::function<void()> work);
}  // namespace internal

class EventLoop : public std::enable_shared_from_this<EventLoop> {
 public:
  static std::shared_ptr<EventLoop> Create(std::string name) {
    return std::shared_ptr<EventLoop>(new EventLoop(std::move(name)));
  }
  ~EventLoop() { Stop(); }

  boost::asio::io_context& io() { return io_; }
  const std::string& name() const { return name_; }

  void Post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

  // A function that posts onto this loop, and silently drops the work once the loop is gone:
  // gRPC completions that arrive after a component stopped must not touch freed memory. Work
  // dropped is destroyed on another thread: it may hold the last reference to the client whose
  // call is completing on this one, and that client's destructor waits for the call to end.
  std::function<void(std::function<void()>)> Dispatcher() {
    std::weak_ptr<EventLoop> weak = shared_from_this();
    return [weak](std::function<void()> fn) {
      if (auto loop = weak.lock()) {
        loop->Post(std::move(fn));
      } else {
        internal::DestroyOnReaperThread(std::move(fn));
      }
    };
  }

  // Runs the loop on a new thread until Stop().
  void StartThread() {
    thread_ = std::thread([this] {
      thread_id_ = std::this_thread::get_id();
      io_.run();
    });
  }

  // Runs `fn` on the loop's thread (started) and waits for it: for a component's start and
  // stop, never on a hot path.
  void RunAndWait(const std::function<void()>& fn) {
    std::promise<void> done;
    Post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  // Runs the loop on the calling thread until Stop().
  void Run() {
    thread_id_ = std::this_thread::get_id();
    io_.run();
  }

  // Stops the loop; pending work is dropped. Joins the loop's thread unless called from it.
  void Stop() {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) {
      if (std::this_thread::get_id() == thread_.get_id()) {
        thread_.detach();
      } else {
        thread_.join();
      }
    }
  }

  bool InLoopThread() const { return std::this_thread::get_id() == thread_id_; }

 private:
  explicit EventLoop(std::string name) : name_(std::move(name)), work_(boost::asio::make_work_guard(io_)) {}

  std::string name_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace orrery
