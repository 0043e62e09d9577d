# GPU path (issue 7): the CPU references and the driver logic always run; the GPU-vs-reference
# checks QSKIP without a device. tst_cuda_cli runs the CLI's --device handling.
rebasin_add_test(tst_cuda)
rebasin_add_test(tst_cuda_cli)
target_compile_definitions(tst_cuda_cli PRIVATE REBASIN_CLI_PATH="$<TARGET_FILE:rebasin>")
add_dependencies(tst_cuda_cli rebasin)
