# QNS_WITH_MPI: build against ns-3 3.37 with MPI instead of Debian's
# libns3-dev alone (built without MPI). build-ns3-mpi.sh builds ns-3's mpi
# module and an MPI-enabled point-to-point module once into the qns cache
# (keyed by its inputs) and links ${CMAKE_BINARY_DIR}/ns3-mpi to it; it runs
# here, at configure time, because find_package(ns3) must find it: a cached
# run takes a fraction of a second. Its CMake package loads Debian's, points
# ns3::libpoint-to-point at the cached library (same soname as Debian's, so a
# process has only one) and adds ns3::libmpi, which brings OpenMPI's headers
# and libraries; every later find_package(ns3 3.37) loads it (ns3_DIR). All
# other ns3::lib* targets stay Debian's.
#
# Include this file before the first find_package(ns3).
if(NOT QNS_WITH_MPI)
  # Back to Debian's ns-3 after a build folder was configured with MPI.
  if(ns3_DIR MATCHES "/ns3-mpi/")
    unset(ns3_DIR CACHE)
  endif()
  return()
endif()

set(QNS_NS3_MPI_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/../scripts/build-ns3-mpi.sh)
set(QNS_NS3_MPI_LINK ${CMAKE_BINARY_DIR}/ns3-mpi)
file(GLOB QNS_NS3_MPI_PROJECT ${CMAKE_CURRENT_LIST_DIR}/../scripts/ns3-mpi/*)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${QNS_NS3_MPI_SCRIPT}
  ${CMAKE_CURRENT_LIST_DIR}/../scripts/cache-build.sh ${QNS_NS3_MPI_PROJECT})
message(STATUS "ns-3 with MPI (cached build; the first one takes about a minute)")
execute_process(COMMAND ${QNS_NS3_MPI_SCRIPT} ${QNS_NS3_MPI_LINK}
  RESULT_VARIABLE qns_mpi_rc)
if(NOT qns_mpi_rc EQUAL 0)
  message(FATAL_ERROR "QNS_WITH_MPI: build-ns3-mpi.sh failed (${qns_mpi_rc})")
endif()

file(STRINGS ${QNS_NS3_MPI_LINK}/BUILD-INFO QNS_NS3_MPI_KEY REGEX "^key: ")
string(REGEX REPLACE "^key: " "" QNS_NS3_MPI_KEY "${QNS_NS3_MPI_KEY}")
set(ns3_DIR ${QNS_NS3_MPI_LINK}/lib/cmake/ns3 CACHE PATH "ns-3's CMake package folder" FORCE)

# FindMPI, for MPIEXEC_EXECUTABLE (the MPI tests' mpirun), compiles two test
# programs each time it runs (2.6 s of a 3.8 s configure), so it runs only
# until its answer is in the cache.
if(NOT MPIEXEC_EXECUTABLE)
  find_package(MPI REQUIRED COMPONENTS CXX)
endif()
find_package(ns3 3.37 REQUIRED)
if(NOT TARGET ns3::libmpi)
  message(FATAL_ERROR "QNS_WITH_MPI: ${ns3_DIR} has no ns3::libmpi")
endif()
get_target_property(QNS_NS3_P2P_LOCATION ns3::libpoint-to-point IMPORTED_LOCATION_RELEASE)
string(FIND "${QNS_NS3_P2P_LOCATION}" "${QNS_NS3_MPI_LINK}/" qns_p2p_at)
if(NOT qns_p2p_at EQUAL 0)
  message(FATAL_ERROR "QNS_WITH_MPI: ns3::libpoint-to-point is ${QNS_NS3_P2P_LOCATION}, not the MPI one")
endif()
message(STATUS "ns-3 with MPI: ${ns3_DIR} (key ${QNS_NS3_MPI_KEY})")
