// The loop of a tensor-parallel rank other than 0 (issue 10): receive what the leader
// broadcasts, run this rank's share of each step (model/step_message.h) on its own KV pool
// shard and do what the leader's SSD tier does (engine/sharded_kv.h) on its own, until
// the leader's model is destroyed. The leader's engine owns scheduling and the prefix cache;
// block ids mean the same on every rank, so a follower only needs a pool of the same shape.
#pragma once

#include "base/file_system.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "dist/communicator.h"
#include "model/model.h"

namespace ts {

// REQUIRES: model was loaded with options.communicator == &comm, comm.rank() != 0. `fs` (for
// the SSD tier) outlives the call.
Status RunTensorParallelFollower(Model& model, Communicator& comm, ThreadPool& pool,
                                 FileSystem* fs);

}  // namespace ts
