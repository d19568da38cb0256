// Starting the ranks of --tensor-parallel N (issue 10).
//
// Started by mpirun (any hosts, any launcher options), a command joins the MPI world, which
// must have N ranks. Run outside mpirun, tierserve launches the ranks itself on this host:
// it runs `mpirun -np N` on its own command line as a child in a process group of its own,
// waits for it, and hands SIGINT/SIGTERM to rank 0 alone (mpirun would end every rank after
// one second, cutting the graceful drain short, and exit 1 whatever happened). Rank 0 tells
// the launcher its pid through the file named by $TIERSERVE_LEADER_PID_FILE, in a private
// temporary folder. If the launcher dies, mpirun gets SIGTERM and ends the ranks.
#pragma once

#include <functional>
#include <memory>

#include "base/status.h"
#include "dist/communicator.h"

namespace ts::app {

// Runs `body` on every rank of a group of `size` (size 1: here, with a null group). Outside
// mpirun, launches the ranks as above (blocking SIGINT and SIGTERM here to pass them on) and
// returns how they ended (OK when every rank exited 0). A rank whose body fails ends every
// rank, since the others may be waiting for it in a collective.
Status RunOnRanks(int32_t size, const std::function<Status(Communicator* group)>& body);

// Rank 0, once it serves: tells the launcher (if any) where to send signals.
void AnnounceLeader();

// Compute threads per rank: `threads` when given, else this host's cores shared by the ranks
// on this host.
int32_t ThreadsPerRank(int32_t threads, const Communicator* group);

}  // namespace ts::app
