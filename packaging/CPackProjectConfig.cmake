# CPACK_PROJECT_CONFIG_FILE: evaluated by cpack once per generator.
#
# CPackDeb prepends CPACK_PACKAGE_DESCRIPTION_SUMMARY (the project description,
# shared by both packages) to every component's description. Each component's
# CPACK_DEBIAN_<COMPONENT>_DESCRIPTION already starts with its own synopsis
# line, so drop the shared one for DEB.
if(CPACK_GENERATOR STREQUAL "DEB")
  unset(CPACK_PACKAGE_DESCRIPTION_SUMMARY)
endif()
