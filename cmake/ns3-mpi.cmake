# QNS_WITH_MPI: build against an MPI-enabled ns-3 3.37 instead of Debian's
# libns3-dev (built without MPI). build-ns3-mpi.sh builds it once into the qns
# cache (keyed by its inputs) and links ${CMAKE_BINARY_DIR}/ns3-mpi to it; it
# runs here, at configure time, because find_package(ns3) must find it: a
# cached run takes seconds. Every later find_package(ns3 3.37) then loads the
# MPI build (ns3_DIR), and ns3::libmpi carries what <ns3/mpi-interface.h>
# needs (OpenMPI's headers; it links OpenMPI's libraries itself).
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
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${QNS_NS3_MPI_SCRIPT}
  ${CMAKE_CURRENT_LIST_DIR}/../scripts/cache-build.sh)
message(STATUS "ns-3 with MPI (cached build; the first one takes long)")
execute_process(COMMAND ${QNS_NS3_MPI_SCRIPT} ${QNS_NS3_MPI_LINK}
  RESULT_VARIABLE qns_mpi_rc)
if(NOT qns_mpi_rc EQUAL 0)
  message(FATAL_ERROR "QNS_WITH_MPI: build-ns3-mpi.sh failed (${qns_mpi_rc})")
endif()

file(STRINGS ${QNS_NS3_MPI_LINK}/BUILD-INFO QNS_NS3_MPI_KEY REGEX "^key: ")
string(REGEX REPLACE "^key: " "" QNS_NS3_MPI_KEY "${QNS_NS3_MPI_KEY}")
set(ns3_DIR ${QNS_NS3_MPI_LINK}/lib/cmake/ns3 CACHE PATH "ns-3's CMake package folder" FORCE)

# ns3::libmpi links OpenMPI's libraries but does not say where mpi.h is.
# FindMPI compiles two test programs each time it runs (2.6 s of a 3.8 s
# configure), so it runs only until its answer is in the cache.
if(NOT QNS_MPI_CXX_INCLUDE_DIRS OR NOT MPIEXEC_EXECUTABLE)
  find_package(MPI REQUIRED COMPONENTS CXX)
  set(QNS_MPI_CXX_INCLUDE_DIRS ${MPI_CXX_INCLUDE_DIRS} CACHE INTERNAL "OpenMPI's C++ headers")
endif()
find_package(ns3 3.37 REQUIRED)
if(NOT TARGET ns3::libmpi)
  message(FATAL_ERROR "QNS_WITH_MPI: ${ns3_DIR} has no ns3::libmpi")
endif()
set_property(TARGET ns3::libmpi APPEND PROPERTY
  INTERFACE_INCLUDE_DIRECTORIES ${QNS_MPI_CXX_INCLUDE_DIRS})
message(STATUS "ns-3 with MPI: ${ns3_DIR} (key ${QNS_NS3_MPI_KEY})")
