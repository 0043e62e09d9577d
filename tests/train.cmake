rebasin_add_test(tst_train)
rebasin_add_test(tst_cli_train)
target_compile_definitions(tst_cli_train PRIVATE REBASIN_CLI_PATH="$<TARGET_FILE:rebasin>")
add_dependencies(tst_cli_train rebasin)
