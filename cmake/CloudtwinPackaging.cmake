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
# Description: first line is the synopsis, the rest the extended description.
set(CPACK_DEBIAN_AGENT_DESCRIPTION "${_agent_summary}\n ${_agent_description}.")
set(CPACK_DEBIAN_HOST_DESCRIPTION "${_host_summary}\n ${_host_description}.")

# Depends: shlibdeps adds the shared libraries. qemu-img (qemu-utils) is needed
# by the CLI to create overlay disks; the daemons are only recommended so that
# the CLI can drive a remote libvirt (qemu+ssh://).
set(CPACK_DEBIAN_HOST_PACKAGE_DEPENDS "qemu-utils")
set(CPACK_DEBIAN_HOST_PACKAGE_RECOMMENDS "libvirt-daemon-system, libvirt-daemon-config-nwfilter, qemu-system-x86 | qemu-system, openvpn")
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS "openvpn")

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
set(CPACK_RPM_AGENT_PACKAGE_SUMMARY "${_agent_summary}")
set(CPACK_RPM_HOST_PACKAGE_SUMMARY "${_host_summary}")
set(CPACK_RPM_AGENT_PACKAGE_DESCRIPTION "${_agent_description}.")
set(CPACK_RPM_HOST_PACKAGE_DESCRIPTION "${_host_description}.")
# RPM distributions ship qemu-img in a package of that name.
set(CPACK_RPM_HOST_PACKAGE_REQUIRES "qemu-img")
# CPackRPM has no per-component Recommends variable: select by package name.
set(CPACK_RPM_SPEC_MORE_DEFINE [[
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
  /usr/sbin /usr/bin)

foreach(_comp IN ITEMS agent host)
  string(TOUPPER "${_comp}" _COMP)
  set(_filelist "")
  foreach(_f IN LISTS _cloudtwin_${_comp}_conffiles)
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
