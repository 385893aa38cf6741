# Installing qns: `cmake --install build --prefix P` puts into P
#   lib/            libqns, libqns_ns3, libqns_machine, libqns_sync, libqns_bridge,
#                   libqns_capture, libqns_record
#                   (shared: the library finds QEMU and the guest image next to
#                   the file it is loaded from, see model/qns-default-paths.cc)
#   include/qns/    qns.h, the ns-3 model and helper headers and the plain-C headers they include
#   include/ns3/    the same headers and qns-module.h, as an ns-3 module's
#   bin/qns         the runner
#   libexec/qns/qemu/  the patched QEMU (bin/qemu-system-x86_64, share/qemu, BUILD-INFO)
#   share/qns/guest/   the default guest image, with its README.md (the qns.*
#                      kernel parameters GUEST-INFO points to)
#   lib/cmake/qns/  the CMake package (find_package(qns 0.1), target qns::qns)
#   lib/pkgconfig/qns.pc
# The test kit (fake guest, tests) is not installed.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(QNS_INSTALL_QEMU_DIR ${CMAKE_INSTALL_LIBEXECDIR}/qns/qemu)
set(QNS_INSTALL_GUEST_DIR ${CMAKE_INSTALL_DATADIR}/qns/guest)
set(QNS_INSTALL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/qns)
set(QNS_INSTALL_INCLUDE_DIR ${CMAKE_INSTALL_INCLUDEDIR}/qns)

# Where the library looks for QEMU and the guest image without QNS_QEMU /
# QNS_GUEST_DIR: the build's while it is loaded from the build folder, else
# these paths under the prefix it is loaded from.
target_sources(qns_ns3 PRIVATE ${PROJECT_SOURCE_DIR}/ns3-module/model/qns-default-paths.cc)
target_compile_definitions(qns_ns3 PRIVATE
  QNS_BUILD_LIBDIR="$<TARGET_FILE_DIR:qns_ns3>"
  QNS_INSTALL_LIBDIR="${CMAKE_INSTALL_LIBDIR}"
  QNS_INSTALL_QEMU="${QNS_INSTALL_QEMU_DIR}/bin/qemu-system-x86_64"
  QNS_INSTALL_GUEST_DIR="${QNS_INSTALL_GUEST_DIR}")

set(QNS_INSTALL_LIBS qns qns_ns3 qns_machine qns_bridge qns_sync qns_capture qns_record)
# Installed libraries and the runner find each other through their own folder.
file(RELATIVE_PATH qns_bin_to_lib /${CMAKE_INSTALL_BINDIR} /${CMAKE_INSTALL_LIBDIR})
set_target_properties(${QNS_INSTALL_LIBS} PROPERTIES INSTALL_RPATH "$ORIGIN")
install(TARGETS ${QNS_INSTALL_LIBS} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
if(TARGET qns-runner)
  set_target_properties(qns-runner PROPERTIES INSTALL_RPATH "$ORIGIN/${qns_bin_to_lib}")
endif()

install(FILES ${QNS_PUBLIC_HEADERS} DESTINATION ${QNS_INSTALL_INCLUDE_DIR})
# As an ns-3 module's: "ns3/qns-module.h" and "ns3/qns-helper.h" with the
# prefix's include folder on the include path.
install(FILES ${QNS_PUBLIC_HEADERS} ${QNS_MODULE_HEADER}
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ns3)

# The patched QEMU and the default guest image, copied out of the cache so
# the prefix stands alone: the build's qemu/ and guest/ are links into it,
# which install(DIRECTORY) would copy as links; they are resolved when
# installing, since a build may point them at another key.
function(qns_install_cached link destination)
  install(CODE "
    file(REAL_PATH \"${link}\" qns_real)
    file(INSTALL \"\${qns_real}/\" DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${destination}\"
         USE_SOURCE_PERMISSIONS PATTERN applications EXCLUDE PATTERN icons EXCLUDE)")
endfunction()
if(TARGET qemu)
  qns_install_cached(${CMAKE_BINARY_DIR}/qemu ${QNS_INSTALL_QEMU_DIR})
endif()
if(TARGET guest)
  qns_install_cached(${CMAKE_BINARY_DIR}/guest ${QNS_INSTALL_GUEST_DIR})
  # Beside GUEST-INFO, whose "see README.md" it is: the qns.* kernel
  # parameters and what the default guest does with them.
  install(FILES ${PROJECT_SOURCE_DIR}/scenarios/guests/default/README.md
          DESTINATION ${QNS_INSTALL_GUEST_DIR})
endif()

# The ns-3 libraries qns links, for qns.pc: -L their folder -l each (the
# imported targets of ns3-module/ are not visible from here).
find_package(ns3 3.37 REQUIRED)
set(qns_ns3_modules core network csma point-to-point internet applications wifi mobility
  flow-monitor
  propagation)
set(QNS_PC_NS3_LIBS "")
foreach(m ${qns_ns3_modules})
  get_target_property(loc ns3::lib${m} LOCATION)
  get_filename_component(dir ${loc} DIRECTORY)
  get_filename_component(name ${loc} NAME_WE)
  string(REGEX REPLACE "^lib" "" name ${name})
  if(NOT QNS_PC_NS3_LIBS AND NOT dir IN_LIST CMAKE_C_IMPLICIT_LINK_DIRECTORIES)
    set(QNS_PC_NS3_LIBS "-L${dir}")
  endif()
  string(APPEND QNS_PC_NS3_LIBS " -l${name}")
endforeach()
list(TRANSFORM qns_ns3_modules PREPEND ns3::lib OUTPUT_VARIABLE QNS_NS3_TARGETS)
file(RELATIVE_PATH QNS_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" QNS_PC_TO_PREFIX "${QNS_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/qns.pc.in ${CMAKE_BINARY_DIR}/qns.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/qns.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/qnsConfig.cmake.in
  ${CMAKE_BINARY_DIR}/qnsConfig.cmake
  INSTALL_DESTINATION ${QNS_INSTALL_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_LIBDIR QNS_INSTALL_INCLUDE_DIR CMAKE_INSTALL_INCLUDEDIR)
# 0.x: a minor version may break the API, so only the same minor matches.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/qnsConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/qnsConfig.cmake ${CMAKE_BINARY_DIR}/qnsConfigVersion.cmake
        DESTINATION ${QNS_INSTALL_CMAKE_DIR})

# The installed package from outside: a user's program built with
# find_package(qns) and with pkg-config, run with one default guest. Only
# where the patched QEMU and the guest image are built, as the other
# real-guest tests (tests/CMakeLists.txt); tests/install/ is its own project,
# configured by the test against the installed prefix, not part of this build.
if(BUILD_TESTING AND TARGET qemu AND TARGET guest)
  find_program(QNS_TSHARK tshark REQUIRED)
  add_test(NAME test_install
    COMMAND ${PROJECT_SOURCE_DIR}/tests/install/test_install.sh ${CMAKE_BINARY_DIR}
            ${CMAKE_BINARY_DIR}/tests/install-test)
  set_tests_properties(test_install PROPERTIES TIMEOUT 600 ENVIRONMENT QNS_TSHARK=${QNS_TSHARK})
endif()
