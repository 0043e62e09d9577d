rebasin_add_test(tst_architectures)
rebasin_add_test(tst_mapping)
rebasin_add_test(tst_spec_ties)
# torchvision state dicts written by real torchvision (tests/data/fixtures_torchvision.py).
rebasin_add_test(tst_tv_models)
rebasin_use_model_fixtures(tst_tv_models)
target_compile_definitions(tst_tv_models PRIVATE REBASIN_CLI_PATH="$<TARGET_FILE:rebasin>")
add_dependencies(tst_tv_models rebasin)

rebasin_add_test(tst_transformers)
rebasin_use_model_fixtures(tst_transformers)
target_compile_definitions(tst_transformers PRIVATE REBASIN_CLI_PATH="$<TARGET_FILE:rebasin>")
add_dependencies(tst_transformers rebasin)
