# orrery_proto_library(TARGET PROTO_ROOT PACKAGE_DIR NAMES...): generates C++ (messages and gRPC
# services) from PROTO_ROOT/PACKAGE_DIR/<name>.proto into a static library TARGET whose include
# directory holds PACKAGE_DIR/<name>.pb.h and .grpc.pb.h.
function(orrery_proto_library target proto_root package_dir)
  set(gen_dir "${CMAKE_CURRENT_BINARY_DIR}/gen")
  file(MAKE_DIRECTORY "${gen_dir}/${package_dir}")
  get_target_property(grpc_cpp_plugin gRPC::grpc_cpp_plugin LOCATION)
  set(generated_sources)
  foreach(name IN LISTS ARGN)
    set(proto "${proto_root}/${package_dir}/${name}.proto")
    set(base "${gen_dir}/${package_dir}/${name}")
    set(outs "${base}.pb.cc" "${base}.pb.h" "${base}.grpc.pb.cc" "${base}.grpc.pb.h")
    add_custom_command(
      OUTPUT ${outs}
      COMMAND protobuf::protoc
        --proto_path "${proto_root}"
        --cpp_out "${gen_dir}"
        --grpc_out "${gen_dir}"
        --plugin=protoc-gen-grpc=${grpc_cpp_plugin}
        "${proto}"
      DEPENDS "${proto}" protobuf::protoc
      COMMENT "protoc ${package_dir}/${name}.proto"
      VERBATIM)
    list(APPEND generated_sources ${outs})
  endforeach()
  add_library(${target} STATIC ${generated_sources})
  target_include_directories(${target} PUBLIC "${gen_dir}")
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf gRPC::grpc++)
  # Generated code is not ours to warn about, or to check with sanitizers (instrumenting it
  # doubles the sanitizer build).
  target_compile_options(${target} PRIVATE -w)
  if(ORRERY_SANITIZE)
    target_compile_options(${target} PRIVATE -fno-sanitize=all)
  endif()
endfunction()
