# core/io tests: checkpoint readers against real PyTorch fixtures (tests/data, made by
# make_fixtures.py) and against hostile files generated in the tests; the CLI's info command.
rebasin_add_test(tst_safetensors)
rebasin_add_test(tst_torch_archive)
rebasin_add_test(tst_cli_info)
foreach(t tst_safetensors tst_torch_archive tst_cli_info)
  target_compile_definitions(${t} PRIVATE REBASIN_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data")
endforeach()
target_compile_definitions(tst_cli_info PRIVATE REBASIN_CLI_PATH="$<TARGET_FILE:rebasin>")
add_dependencies(tst_cli_info rebasin)
