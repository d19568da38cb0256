// Communicator: the processes (ranks) of one tensor-parallel group and the collectives the
// model and the engine use between them (issue 10). Rank 0 leads: it runs the server and the
// scheduler and broadcasts each step; the other ranks follow it.
//
// Every call is collective: all ranks make the same calls in the same order, each rank from
// one thread at a time. MPI carries everything for CPU ranks (dist/mpi_communicator.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"

namespace ts {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_leader() const { return rank() == 0; }

  // Rank 0's *bytes to every rank (replaced on the others). The others wait without keeping a
  // core busy while rank 0 has nothing to send.
  virtual Status Broadcast(std::vector<uint8_t>* bytes) = 0;
  // Replaces data with the sum over ranks, added in rank order: the same bits on every rank
  // and for every length, so results do not depend on how a step was batched.
  virtual Status AllReduceSum(std::span<float> data) = 0;
  // Each rank's floats (counts may differ), concatenated in rank order into *all on rank 0;
  // `all` is untouched elsewhere.
  virtual Status GatherToLeader(std::span<const float> mine, std::vector<float>* all) = 0;
  // Each rank's bytes (the same count on every rank), concatenated in rank order on every rank.
  virtual Status AllGather(std::span<const uint8_t> mine, std::vector<uint8_t>* all) = 0;
  // Ends every rank of the group now with `code`: for a failure on some ranks while the others
  // wait in a collective, which would otherwise never return.
  [[noreturn]] virtual void Abort(int code) = 0;
};

// Whether this process was started by mpirun (Open MPI sets OMPI_COMM_WORLD_SIZE).
bool StartedByMpirun();

// Joins the MPI world this process was started in; the world is the group. Fails in a build
// without MPI (TIERSERVE_MPI off).
Result<std::unique_ptr<Communicator>> ConnectMpiWorld();

}  // namespace ts
