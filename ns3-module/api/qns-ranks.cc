/*
 * qns-ranks.cc - the C API's ranks (qns.h, "Ranks"): joining the processes
 * mpirun started (MPI and ns-3's DistributedSimulatorImpl), and the few
 * messages a program exchanges around a split run (its results, gathered on
 * rank 0). The split run itself is ns-3's: QnsGuestRun and the scheduler.
 * Built with MPI when ns-3 has its mpi module (QNS_NS3_MPI).
 */
#include "qns.h"

#include "ns3/core-module.h"
#ifdef QNS_NS3_MPI
#include "ns3/mpi-interface.h"
#include <mpi.h>
#endif

#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace ns3;

namespace
{

void SetErr(char *errbuf, const std::string &msg)
{
    if (errbuf != nullptr) {
        std::snprintf(errbuf, QNS_ERRBUF_SIZE, "%s", msg.c_str());
    }
}

/* The number of processes mpirun (OpenMPI, or a PMI launcher) started this
 * one among; 1 when none did. */
long LauncherSize()
{
    for (const char *v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
        const char *s = std::getenv(v);
        char *end = nullptr;
        long n = s != nullptr ? std::strtol(s, &end, 10) : 0;
        if (s != nullptr && end != s && *end == '\0' && n > 0) {
            return n;
        }
    }
    return 1;
}

#ifdef QNS_NS3_MPI
/* MPI counts are ints: larger messages go in pieces of this many bytes. */
constexpr size_t kPiece = 1u << 30;

std::string MpiError(const char *what, int rc)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) {
        len = std::snprintf(text, sizeof(text), "error %d", rc);
    }
    return std::string(what) + ": " + std::string(text, static_cast<size_t>(len));
}
#endif

} // namespace

extern "C"
{

    int qns_ranks_start(int *argc, char ***argv, char *errbuf)
    {
        long size = LauncherSize();
        if (size <= 1) {
            return 1;
        }
#ifdef QNS_NS3_MPI
        (void)errbuf;
        GlobalValue::Bind("SimulatorImplementationType",
                          StringValue("ns3::DistributedSimulatorImpl"));
        MpiInterface::Enable(argc, argv);
        return static_cast<int>(MpiInterface::GetSize());
#else
        (void)argc;
        (void)argv;
        SetErr(errbuf, "mpirun started " + std::to_string(size) +
                           " processes, but this qns was built without MPI (configure it with "
                           "-DQNS_WITH_MPI=ON to run across ranks)");
        return -1;
#endif
    }

    uint32_t qns_rank(void)
    {
#ifdef QNS_NS3_MPI
        if (MpiInterface::IsEnabled()) {
            return MpiInterface::GetSystemId();
        }
#endif
        return 0;
    }

    uint32_t qns_ranks(void)
    {
#ifdef QNS_NS3_MPI
        if (MpiInterface::IsEnabled()) {
            return MpiInterface::GetSize();
        }
#endif
        return 1;
    }

    int qns_ranks_send(const void *data, size_t len, char *errbuf)
    {
#ifdef QNS_NS3_MPI
        if (MpiInterface::IsEnabled() && MpiInterface::GetSystemId() != 0) {
            MPI_Comm comm = MpiInterface::GetCommunicator();
            uint64_t n = len;
            int rc = MPI_Send(&n, 1, MPI_UINT64_T, 0, 1, comm);
            for (size_t off = 0; rc == MPI_SUCCESS && off < len; off += kPiece) {
                size_t piece = len - off < kPiece ? len - off : kPiece;
                rc = MPI_Send(static_cast<const char *>(data) + off, static_cast<int>(piece),
                              MPI_BYTE, 0, 1, comm);
            }
            if (rc != MPI_SUCCESS) {
                SetErr(errbuf, MpiError("cannot send to rank 0", rc));
                return -1;
            }
            return 0;
        }
#endif
        (void)data;
        (void)len;
        SetErr(errbuf, "only a rank other than 0 sends to rank 0");
        return -1;
    }

    int qns_ranks_recv(uint32_t from, void **data, size_t *len, char *errbuf)
    {
#ifdef QNS_NS3_MPI
        if (MpiInterface::IsEnabled() && MpiInterface::GetSystemId() == 0 && from != 0 &&
            from < MpiInterface::GetSize()) {
            MPI_Comm comm = MpiInterface::GetCommunicator();
            const int src = static_cast<int>(from);
            uint64_t n = 0;
            int rc = MPI_Recv(&n, 1, MPI_UINT64_T, src, 1, comm, MPI_STATUS_IGNORE);
            char *buf = rc == MPI_SUCCESS ? static_cast<char *>(std::malloc(n ? n : 1)) : nullptr;
            if (rc == MPI_SUCCESS && buf == nullptr) {
                SetErr(errbuf, "no memory for " + std::to_string(n) + " bytes from rank " +
                                   std::to_string(from));
                return -1;
            }
            for (size_t off = 0; rc == MPI_SUCCESS && off < n; off += kPiece) {
                size_t piece = n - off < kPiece ? n - off : kPiece;
                rc = MPI_Recv(buf + off, static_cast<int>(piece), MPI_BYTE, src, 1, comm,
                              MPI_STATUS_IGNORE);
            }
            if (rc != MPI_SUCCESS) {
                std::free(buf);
                SetErr(errbuf,
                       MpiError(("cannot receive from rank " + std::to_string(from)).c_str(), rc));
                return -1;
            }
            *data = buf;
            *len = n;
            return 0;
        }
#endif
        (void)data;
        (void)len;
        SetErr(errbuf, "rank 0 receives from rank 1 .. N-1; there is no rank " +
                           std::to_string(from) + " to receive from here");
        return -1;
    }

    int qns_ranks_max(int value)
    {
#ifdef QNS_NS3_MPI
        if (MpiInterface::IsEnabled()) {
            int out = value;
            if (MPI_Allreduce(&value, &out, 1, MPI_INT, MPI_MAX, MpiInterface::GetCommunicator()) ==
                MPI_SUCCESS) {
                return out;
            }
            return INT_MAX;
        }
#endif
        return value;
    }

    void qns_ranks_end(void)
    {
#ifdef QNS_NS3_MPI
        if (MpiInterface::IsEnabled()) {
            MpiInterface::Disable();
        }
#endif
    }

} // extern "C"
