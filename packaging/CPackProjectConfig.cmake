# CPACK_PROJECT_CONFIG_FILE: evaluated by cpack once per generator.
#
# CPackDeb prepends CPACK_PACKAGE_DESCRIPTION_SUMMARY (the project description,
# shared by both packages) to every component's description. Each component's
# CPACK_DEBIAN_<COMPONENT>_DESCRIPTION already starts with its own synopsis
# line, so drop the shared one for DEB.
if(CPACK_GENERATOR STREQUAL "DEB")
  unset(CPACK_PACKAGE_DESCRIPTION_SUMMARY)
endif()

# Packages hold absolute paths made from the build's install prefix (conffiles, units,
# the agent's plugin dir): only a /usr build makes packages that work.
if(NOT CPACK_CLOUDTWIN_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "cloudtwin: this build's install prefix is "
                      "'${CPACK_CLOUDTWIN_INSTALL_PREFIX}'; packages need /usr: reconfigure "
                      "with -DCMAKE_INSTALL_PREFIX=/usr (the default) and rebuild")
endif()
