# Plotting widgets (Qt Widgets + QCustomPlot, offscreen): each widget renders given data, the
# plan geometry, palette following and plot export. Only with the GUI (REBASIN_BUILD_GUI).
if(TARGET rebasin_widgets)
  foreach(name tst_widgets tst_widgets_export)
    rebasin_add_test(${name})
    target_link_libraries(${name} PRIVATE rebasin_widgets)
  endforeach()
endif()
