rebasin_add_test(tst_align)
rebasin_add_test(tst_cli_align)
target_compile_definitions(tst_cli_align PRIVATE REBASIN_CLI_PATH="$<TARGET_FILE:rebasin>")
add_dependencies(tst_cli_align rebasin)
