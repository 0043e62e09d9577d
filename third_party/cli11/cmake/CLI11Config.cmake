# Fallback package config for the header copy in third_party/cli11 (see third_party/README.md):
# found only when the top-level CMakeLists.txt points CLI11_DIR here because no installed CLI11
# was found.
set(CLI11_VERSION 2.1.2)
if(NOT TARGET CLI11::CLI11)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  set_target_properties(CLI11::CLI11 PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${CMAKE_CURRENT_LIST_DIR}/../include"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${CMAKE_CURRENT_LIST_DIR}/../include")
endif()
