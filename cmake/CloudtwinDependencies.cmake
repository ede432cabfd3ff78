# Every dependency comes from a Debian 12 package, found here once for the whole tree.
# Nothing is vendored or downloaded. scripts/install-deps.sh installs the packages.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

# Core (pure) needs Boost (header-only base64 iterators) and zlib (gzip); its MIME
# part (cloudtwin_core_mime) Poco Net.
find_package(Boost 1.74 REQUIRED)              # header-only: Asio, Beast, Archive iterators
find_package(ZLIB REQUIRED)
find_package(Poco 1.11 REQUIRED COMPONENTS Foundation Net XML)  # XML and MIME only
find_package(yaml-cpp REQUIRED)                # cloud-config and YAML templates (also fuzzed)
find_package(nlohmann_json 3.10 REQUIRED)      # the one JSON library of the tree (header-only)

if(NOT CLOUDTWIN_FUZZ)
  find_package(OpenSSL 3.0 REQUIRED)
  pkg_check_modules(LIBVIRT REQUIRED IMPORTED_TARGET libvirt)
  pkg_check_modules(LIBNL REQUIRED IMPORTED_TARGET libnl-3.0 libnl-route-3.0)
  pkg_check_modules(LIBISOFS REQUIRED IMPORTED_TARGET libisofs-1)
  pkg_check_modules(BLKID REQUIRED IMPORTED_TARGET blkid)
  pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)  # sd_notify (Type=notify)
  if(CLOUDTWIN_TESTS)
    find_package(GTest REQUIRED)
  endif()
  if(CLOUDTWIN_BENCH)
    find_package(benchmark REQUIRED)
  endif()
endif()
