# One GoogleTest binary per module, each test labelled by what it needs:
#   unit  - nothing;  netns - root + network namespaces;  vm - a QEMU guest;
#   bench - not run by default.
# A test that cannot run calls GTEST_SKIP() << "why"; SKIP_REGULAR_EXPRESSION makes
# ctest count it as skipped, and scripts/test.sh prints the count and the reasons.
if(CLOUDTWIN_TESTS AND NOT CLOUDTWIN_FUZZ)
  enable_testing()
  include(GoogleTest)
endif()

function(cloudtwin_add_gtest name)
  cmake_parse_arguments(ARG "" "LABEL" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_LABEL)
    set(ARG_LABEL unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gmock GTest::gtest_main)
  cloudtwin_target_defaults(${name})
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 60
    PROPERTIES
      LABELS ${ARG_LABEL}
      SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
endfunction()
