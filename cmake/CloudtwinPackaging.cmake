# CPack: cloudtwin-agent and cloudtwin-host, DEB and RPM.
#
# One package per install COMPONENT:
#   agent -> cloudtwin-agent  (guest side: /usr/sbin/cloudtwin-agent, its units,
#                              /etc/init.d/cloudtwin-agent, /etc/cloudtwin/agent.conf)
#   host  -> cloudtwin-host   (/usr/bin/cloudtwin, /usr/sbin/cloudtwin-metadata,
#                              cloudtwin-metadata.service, host.conf, metadata.conf)
#
#   cmake --build --preset release && (cd build/release && cpack -G DEB && cpack -G RPM)
#
# Packages land in build/<preset>/packages/. See packaging/README.md.

set(_cloudtwin_pkg_dir "${PROJECT_SOURCE_DIR}/packaging")
# The packages put every file where Debian (and Fedora) expect it: /usr, /etc, /var.
# Absolute paths (conffiles, unit files, the agent's plugin dir) come from the build's
# install prefix, so a build for another prefix cannot make correct packages; the top
# CMakeLists.txt makes /usr the default, and cpack refuses any other (CPackProjectConfig).
set(CPACK_CLOUDTWIN_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "cloudtwin: install prefix ${CMAKE_INSTALL_PREFIX}: cpack will refuse to "
                 "build packages (they need -DCMAKE_INSTALL_PREFIX=/usr)")
endif()
set(_cloudtwin_confdir "${CMAKE_INSTALL_FULL_SYSCONFDIR}/cloudtwin")
if(NOT DEFINED CLOUDTWIN_SYSTEMD_UNITDIR)
  set(CLOUDTWIN_SYSTEMD_UNITDIR "/lib/systemd/system")
endif()
if(NOT DEFINED CLOUDTWIN_SYSVINIT_DIR)
  set(CLOUDTWIN_SYSVINIT_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/init.d")
endif()

# Configuration files per component: DEB conffiles / RPM %config(noreplace).
set(_cloudtwin_agent_conffiles
  "${_cloudtwin_confdir}/agent.conf"
  "${CLOUDTWIN_SYSVINIT_DIR}/cloudtwin-agent")      # Debian policy: init scripts are conffiles
set(_cloudtwin_host_conffiles
  "${_cloudtwin_confdir}/host.conf"
  "${_cloudtwin_confdir}/metadata.conf")

# ---------------------------------------------------------------- documentation
# Manual pages (gzip -9n: reproducible), the copyright file and the changelog, per package.
set(_cloudtwin_agent_man cloudtwin-agent.8 cloudtwin-agent.conf.5)
set(_cloudtwin_host_man cloudtwin.1 cloudtwin-metadata.8 cloudtwin-host.conf.5
  cloudtwin-metadata.conf.5)
find_program(CLOUDTWIN_GZIP gzip REQUIRED)
set(_cloudtwin_docs_out "${CMAKE_BINARY_DIR}/packaging/doc")
set(_cloudtwin_gz "")
foreach(_src IN LISTS _cloudtwin_agent_man _cloudtwin_host_man ITEMS changelog)
  if(_src STREQUAL "changelog")
    set(_in "${_cloudtwin_pkg_dir}/changelog")
  else()
    set(_in "${_cloudtwin_pkg_dir}/man/${_src}")
  endif()
  add_custom_command(OUTPUT "${_cloudtwin_docs_out}/${_src}.gz"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${_cloudtwin_docs_out}"
    COMMAND ${CLOUDTWIN_GZIP} -9n -c "${_in}" > "${_cloudtwin_docs_out}/${_src}.gz"
    DEPENDS "${_in}" VERBATIM)
  list(APPEND _cloudtwin_gz "${_cloudtwin_docs_out}/${_src}.gz")
endforeach()
add_custom_target(cloudtwin-docs ALL DEPENDS ${_cloudtwin_gz})
# The changelog's newest entry is the package version (lintian compares them).
file(STRINGS "${_cloudtwin_pkg_dir}/changelog" _cloudtwin_changelog_top LIMIT_COUNT 1)
if(NOT _cloudtwin_changelog_top MATCHES "^cloudtwin \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "packaging/changelog: the newest entry is not ${PROJECT_VERSION} "
                      "(the project's version): add an entry for it")
endif()
foreach(_comp IN ITEMS agent host)
  foreach(_page IN LISTS _cloudtwin_${_comp}_man)
    string(REGEX MATCH "[0-9]$" _section "${_page}")
    install(FILES "${_cloudtwin_docs_out}/${_page}.gz"
      DESTINATION "${CMAKE_INSTALL_MANDIR}/man${_section}" COMPONENT ${_comp})
  endforeach()
  install(FILES "${_cloudtwin_pkg_dir}/copyright" "${_cloudtwin_docs_out}/changelog.gz"
    DESTINATION "${CMAKE_INSTALL_DATAROOTDIR}/doc/cloudtwin-${_comp}" COMPONENT ${_comp})
  # Tags lintian reports that are right for these packages, each with its reason.
  install(FILES "${_cloudtwin_pkg_dir}/lintian/cloudtwin-${_comp}"
    DESTINATION "${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides" COMPONENT ${_comp})
endforeach()

# ---------------------------------------------------------------- common
set(CPACK_PACKAGE_NAME "cloudtwin")
set(CPACK_PACKAGE_VENDOR "cloudtwin developers")
set(CPACK_PACKAGE_CONTACT "cloudtwin developers <cloudtwin@example.invalid>")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_HOMEPAGE_URL "${PROJECT_HOMEPAGE_URL}")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_OUTPUT_FILE_PREFIX "${CMAKE_BINARY_DIR}/packages")
set(CPACK_GENERATOR "DEB;RPM")
set(CPACK_SOURCE_GENERATOR "")
set(CPACK_STRIP_FILES ON)
set(CPACK_THREADS 0)
set(CPACK_VERBATIM_VARIABLES ON)       # quotes in CPACK_RPM_SPEC_MORE_DEFINE
set(CPACK_PACKAGE_RELOCATABLE OFF)    # absolute paths under /etc and /lib
set(CPACK_PROJECT_CONFIG_FILE "${_cloudtwin_pkg_dir}/CPackProjectConfig.cmake")

# Only our two components; anything installed without one (or by a dependency)
# stays out of the packages.
set(CPACK_COMPONENTS_ALL agent host)
set(CPACK_COMPONENTS_GROUPING IGNORE)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_RPM_COMPONENT_INSTALL ON)

set(_agent_summary "cloudtwin guest agent")
set(_agent_description
  "guest agent: contextualizes a VM from an OpenNebula context CD, NoCloud or EC2 instance metadata")
set(_host_summary "cloudtwin host tools")
set(_host_description
  "host side: libvirt VM CLI, EC2-compatible metadata service, OpenVPN overlay tooling")
set(CPACK_COMPONENT_AGENT_DISPLAY_NAME "${_agent_summary}")
set(CPACK_COMPONENT_AGENT_DESCRIPTION "${_agent_description}")
set(CPACK_COMPONENT_HOST_DISPLAY_NAME "${_host_summary}")
set(CPACK_COMPONENT_HOST_DESCRIPTION "${_host_description}")

# ---------------------------------------------------------------- DEB
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME "cloudtwin-agent")
set(CPACK_DEBIAN_HOST_PACKAGE_NAME "cloudtwin-host")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE "xz")
# Description: first line is the synopsis, the rest the extended description, wrapped
# under 80 columns as Debian policy asks (CPackDeb indents the lines).
set(CPACK_DEBIAN_AGENT_DESCRIPTION "${_agent_summary}
cloudtwin runs one VM image the same way on a local libvirt host and on
Amazon EC2. This package goes into the VM image: at boot it finds the VM's
context (an OpenNebula context CD, a NoCloud seed or the EC2 instance
metadata service) and applies it: network, host name, users, SSH keys,
the overlay VPN and user-data.")
set(CPACK_DEBIAN_HOST_DESCRIPTION "${_host_summary}
cloudtwin runs one VM image the same way on a local libvirt host and on
Amazon EC2. This package holds the host side: the cloudtwin command (VMs,
networks and images on libvirt), cloudtwin-metadata (an EC2-compatible
instance metadata service for local VMs) and the OpenVPN overlay tooling.")

# Depends: shlibdeps adds the shared libraries. qemu-img (qemu-utils) is needed
# by the CLI to create overlay disks; the daemons are only recommended so that
# the CLI can drive a remote libvirt (qemu+ssh://).
set(CPACK_DEBIAN_HOST_PACKAGE_RECOMMENDS "libvirt-daemon-system, libvirt-daemon-config-nwfilter, qemu-system-x86 | qemu-system, openvpn")
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS "openvpn")
# deb-systemd-helper / deb-systemd-invoke in the maintainer scripts (what dh adds).
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "init-system-helpers (>= 1.54~)")
set(CPACK_DEBIAN_HOST_PACKAGE_DEPENDS "qemu-utils, init-system-helpers (>= 1.54~)")

# conffiles are generated from the lists above; scripts come from packaging/deb.
foreach(_comp IN ITEMS agent host)
  list(JOIN _cloudtwin_${_comp}_conffiles "\n" _conffiles)
  file(WRITE "${CMAKE_BINARY_DIR}/packaging/deb/${_comp}/conffiles" "${_conffiles}\n")
  set(_extra "${CMAKE_BINARY_DIR}/packaging/deb/${_comp}/conffiles")
  foreach(_script IN ITEMS preinst postinst prerm postrm)
    if(EXISTS "${_cloudtwin_pkg_dir}/deb/${_comp}/${_script}")
      list(APPEND _extra "${_cloudtwin_pkg_dir}/deb/${_comp}/${_script}")
    endif()
  endforeach()
  string(TOUPPER "${_comp}" _COMP)
  set(CPACK_DEBIAN_${_COMP}_PACKAGE_CONTROL_EXTRA "${_extra}")
endforeach()

# ---------------------------------------------------------------- RPM
set(CPACK_RPM_AGENT_PACKAGE_NAME "cloudtwin-agent")
set(CPACK_RPM_HOST_PACKAGE_NAME "cloudtwin-host")
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_LICENSE "Apache-2.0")
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_URL "${PROJECT_HOMEPAGE_URL}")
set(CPACK_RPM_PACKAGE_RELEASE "1")
set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
set(CPACK_RPM_PACKAGE_AUTOREQPROV ON)
set(CPACK_RPM_CHANGELOG_FILE "${_cloudtwin_pkg_dir}/rpm/changelog")
# RPM summaries start with a capital; the descriptions are the DEB ones without
# their synopsis line.
set(CPACK_RPM_AGENT_PACKAGE_SUMMARY "Guest agent of cloudtwin")
set(CPACK_RPM_HOST_PACKAGE_SUMMARY "Host tools of cloudtwin")
foreach(_comp IN ITEMS AGENT HOST)
  string(REGEX REPLACE "^[^\n]*\n" "" CPACK_RPM_${_comp}_PACKAGE_DESCRIPTION
    "${CPACK_DEBIAN_${_comp}_DESCRIPTION}")
endforeach()
# RPM distributions ship qemu-img in a package of that name.
set(CPACK_RPM_HOST_PACKAGE_REQUIRES "qemu-img")
# CPackRPM has no per-component Recommends variable: select by package name.
set(CPACK_RPM_SPEC_MORE_DEFINE [[
Packager: cloudtwin developers <cloudtwin@example.invalid>
%if "%{name}" == "cloudtwin-host"
Recommends: libvirt-daemon-kvm
Recommends: openvpn
%endif
%if "%{name}" == "cloudtwin-agent"
Recommends: openvpn
%endif]])

# Do not own directories that belong to the base system.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
  /etc/init.d /etc/rc.d /etc/rc.d/init.d
  /lib /lib/systemd /lib/systemd/system
  /usr/lib/systemd /usr/lib/systemd/system
  /usr/sbin /usr/bin
  /usr/share/man /usr/share/man/man1 /usr/share/man/man5 /usr/share/man/man8
  /usr/share/doc /var /var/lib)

foreach(_comp IN ITEMS agent host)
  string(TOUPPER "${_comp}" _COMP)
  set(_filelist "")
  foreach(_f IN LISTS _cloudtwin_${_comp}_conffiles)
    # RPM distributions do not treat SysV scripts as configuration.
    if(_f MATCHES "/init\\.d/")
      continue()
    endif()
    list(APPEND _filelist "%config(noreplace) ${_f}")
  endforeach()
  set(CPACK_RPM_${_COMP}_USER_FILELIST "${_filelist}")
  set(CPACK_RPM_${_COMP}_POST_INSTALL_SCRIPT_FILE "${_cloudtwin_pkg_dir}/rpm/${_comp}/post.sh")
  set(CPACK_RPM_${_COMP}_PRE_UNINSTALL_SCRIPT_FILE "${_cloudtwin_pkg_dir}/rpm/${_comp}/preun.sh")
  set(CPACK_RPM_${_COMP}_POST_UNINSTALL_SCRIPT_FILE "${_cloudtwin_pkg_dir}/rpm/${_comp}/postun.sh")
endforeach()

include(CPack)

cpack_add_component(agent
  DISPLAY_NAME "${_agent_summary}" DESCRIPTION "${_agent_description}")
cpack_add_component(host
  DISPLAY_NAME "${_host_summary}" DESCRIPTION "${_host_description}")
