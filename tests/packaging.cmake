# Packaging tests: the man pages document every command and option the installed programs
# accept, the desktop file, metainfo and icons agree on one id, and the install rules put each
# file where the .deb expects it (packaging/CMakeLists.txt).
if(TARGET rebasin_packaging_files)
  rebasin_add_test(tst_packaging)
  add_dependencies(tst_packaging rebasin rebasin_packaging_files)
  string(REPLACE ";" "," _sizes "${REBASIN_ICON_SIZES}")
  target_compile_definitions(tst_packaging PRIVATE
    REBASIN_CLI_PATH="$<TARGET_FILE:rebasin>"
    REBASIN_CLI_NAME="$<TARGET_FILE_NAME:rebasin>"
    REBASIN_APP_ID="${REBASIN_APP_ID}"
    REBASIN_VERSION="${PROJECT_VERSION}"
    REBASIN_ICON_SIZES="${_sizes}"
    REBASIN_SOURCE_ROOT="${PROJECT_SOURCE_DIR}"
    REBASIN_BUILD_ROOT="${PROJECT_BINARY_DIR}"
    REBASIN_CMAKE_COMMAND="${CMAKE_COMMAND}")
  # The test installs everything the install rules name: the installed programs must be built.
  foreach(program rebasin-plot)
    if(TARGET ${program})
      add_dependencies(tst_packaging ${program})
    endif()
  endforeach()
  if(TARGET rebasin-studio)
    add_dependencies(tst_packaging rebasin-studio)
    target_compile_definitions(tst_packaging PRIVATE
      REBASIN_STUDIO_PATH="$<TARGET_FILE:rebasin-studio>"
      REBASIN_STUDIO_NAME="$<TARGET_FILE_NAME:rebasin-studio>")
  else()
    # No GUI in this configuration: the files still name the binary the .deb will hold.
    target_compile_definitions(tst_packaging PRIVATE
      REBASIN_STUDIO_PATH="" REBASIN_STUDIO_NAME="rebasin-studio")
  endif()
endif()
