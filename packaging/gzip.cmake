# cmake -DGZIP=... -DIN=FILE -DOUT=FILE.gz -P gzip.cmake: compresses IN the way Debian wants
# man pages and changelogs (maximum compression, no name or timestamp inside, so two builds
# give the same bytes), written to a temporary file and renamed into place.
execute_process(COMMAND "${GZIP}" -9 -n -c "${IN}" OUTPUT_FILE "${OUT}.tmp" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUT}.tmp")
  message(FATAL_ERROR "gzip ${IN} failed: ${rc}")
endif()
file(RENAME "${OUT}.tmp" "${OUT}")
