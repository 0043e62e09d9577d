# Model fixtures written by real PyTorch and torchvision (tests/data/make_fixtures.py --models):
# torchvision state dicts and TorchScript archives too large to commit, generated once per
# build tree by a CTest fixture (skipped when the scripts have not changed since). Tests that
# read them call rebasin_use_model_fixtures(<test>) and find them under REBASIN_MODEL_FIXTURES.
set(REBASIN_MODEL_FIXTURES ${CMAKE_BINARY_DIR}/tests/models)
add_test(NAME make_model_fixtures
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/data/make_fixtures.py --models ${REBASIN_MODEL_FIXTURES})
set_tests_properties(make_model_fixtures PROPERTIES FIXTURES_SETUP model_fixtures TIMEOUT 600
                     ENVIRONMENT "OMP_NUM_THREADS=2")

function(rebasin_use_model_fixtures name)
  target_compile_definitions(${name} PRIVATE REBASIN_MODEL_FIXTURES="${REBASIN_MODEL_FIXTURES}")
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED model_fixtures)
endfunction()

rebasin_add_test(tst_graph_models)
rebasin_use_model_fixtures(tst_graph_models)
target_compile_definitions(tst_graph_models PRIVATE REBASIN_CLI_PATH="$<TARGET_FILE:rebasin>")
add_dependencies(tst_graph_models rebasin)

# Buffers the model never updates (RoPE's inv_freq...) are never permuted; aligned files are
# loaded back into the user's Python module (tests/data/check_loaded.py).
rebasin_add_test(tst_graph_buffers)
rebasin_use_model_fixtures(tst_graph_buffers)
target_compile_definitions(tst_graph_buffers PRIVATE REBASIN_CLI_PATH="$<TARGET_FILE:rebasin>"
                           REBASIN_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data")
add_dependencies(tst_graph_buffers rebasin)
