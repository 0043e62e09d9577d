# core/data tests: installed and synthetic data sets; transforms and batching.
rebasin_add_test(tst_datasets)
rebasin_add_test(tst_datasets_transforms)
