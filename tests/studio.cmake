# rebasin-studio: the worker (start, cancel, supersede, responsiveness) and the main window
# end to end (align, exports, session, demos, the executable headless).
if(TARGET rebasin_studio)
  rebasin_add_test(tst_studio_worker)
  target_link_libraries(tst_studio_worker PRIVATE rebasin_studio)
  rebasin_add_test(tst_studio_models)
  target_link_libraries(tst_studio_models PRIVATE rebasin_studio)
  rebasin_use_model_fixtures(tst_studio_models)
  target_compile_definitions(tst_studio_models PRIVATE REBASIN_DEMO_DIR="${PROJECT_SOURCE_DIR}/resources/demo")
  rebasin_add_test(tst_studio_window)
  target_link_libraries(tst_studio_window PRIVATE rebasin_studio)
  target_compile_definitions(tst_studio_window PRIVATE
    REBASIN_STUDIO_PATH="$<TARGET_FILE:rebasin-studio>"
    REBASIN_DEMO_DIR="${PROJECT_SOURCE_DIR}/resources/demo")
  add_dependencies(tst_studio_window rebasin-studio)
  # executableRunsTheVitDemoHeadless runs the whole ViT demo, whose point is the shipped demo as
  # a user starts it: about 130 s on an idle 2-core machine, over Qt Test's 300 s function limit
  # when other tests share the cores. The limit is raised for this executable (CTest's own
  # timeout still holds), so a busy machine does not fail it.
  set_tests_properties(tst_studio_window PROPERTIES ENVIRONMENT
                       "QT_QPA_PLATFORM=offscreen;OMP_NUM_THREADS=2;QTEST_FUNCTION_TIMEOUT=840000")
  # The jobs layer through both front ends: the CLI and the studio give the same report.
  rebasin_add_test(tst_jobs)
  target_link_libraries(tst_jobs PRIVATE rebasin_studio)
  target_compile_definitions(tst_jobs PRIVATE REBASIN_CLI_PATH="$<TARGET_FILE:rebasin>"
                             REBASIN_DEMO_DIR="${PROJECT_SOURCE_DIR}/resources/demo")
  add_dependencies(tst_jobs rebasin)
endif()

if(TARGET rebasin-plot)
  rebasin_add_test(tst_plot_cli)
  target_compile_definitions(tst_plot_cli PRIVATE REBASIN_PLOT_PATH="$<TARGET_FILE:rebasin-plot>")
  target_link_libraries(tst_plot_cli PRIVATE Qt6::Gui)
  add_dependencies(tst_plot_cli rebasin-plot)
endif()
