# core/data tests: installed and synthetic data sets; transforms and batching.
rebasin_add_test(tst_datasets)
rebasin_add_test(tst_datasets_transforms)
# A data set that is not installed fails its case with the loader's reason and the executable
# runs to its end ("Totals:"), instead of aborting on an uncaught exception.
file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/no-data)
add_test(NAME tst_datasets_missing_data COMMAND tst_datasets digits mnist)
set_tests_properties(tst_datasets_missing_data PROPERTIES
  ENVIRONMENT "QT_QPA_PLATFORM=offscreen;OMP_NUM_THREADS=2;REBASIN_TEST_DATA_DIR=${CMAKE_CURRENT_BINARY_DIR}/no-data"
  PASS_REGULAR_EXPRESSION "FAIL!  : TestDatasets::digits\\(\\) digits: digits.csv.gz not found in [^\n]*no-data.*FAIL!  : TestDatasets::mnist\\(\\) mnist: .*Totals: [0-9]+ passed, 2 failed")
