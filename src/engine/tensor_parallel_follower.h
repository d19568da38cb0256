// The loop of a tensor-parallel rank other than 0 (issue 10): receive each step the leader
// broadcasts (model/step_message.h), run this rank's share of it on its own KV pool shard,
// until the leader's model is destroyed. The leader's engine owns scheduling and the prefix
// cache; block ids mean the same on every rank, so a follower only needs a pool of the same
// number of blocks, made at the first step.
#pragma once

#include "base/status.h"
#include "base/thread_pool.h"
#include "dist/communicator.h"
#include "model/model.h"

namespace ts {

// REQUIRES: model was loaded with options.communicator == &comm, comm.rank() != 0.
Status RunTensorParallelFollower(Model& model, Communicator& comm, ThreadPool& pool);

}  // namespace ts
