rebasin_add_test(tst_interpolation)
rebasin_add_test(tst_cli_lmc)
target_compile_definitions(tst_cli_lmc PRIVATE REBASIN_CLI_PATH="$<TARGET_FILE:rebasin>")
add_dependencies(tst_cli_lmc rebasin)
