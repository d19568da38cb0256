#include "engine/tensor_parallel_follower.h"

#include <optional>

#include "engine/sharded_kv.h"
#include "kv/kv_storage.h"
#include "model/step_message.h"

namespace ts {

Status RunTensorParallelFollower(Model& model, Communicator& comm, ThreadPool& pool,
                                 FileSystem* fs) {
  std::optional<KvStorage> storage;
  // The pool is made at the shape the leader names first (its SSD tier's open or its first
  // step) and never changes: the SSD tier holds on to it.
  auto pool_of_shape = [&](int32_t num_blocks, int32_t block_size,
                           KvDtype dtype) -> Result<KvStorage*> {
    const KvLayout layout = model.MakeKvLayout(block_size, dtype);
    if (!storage) {
      ASSIGN_OR_RETURN(KvStorage made, KvStorage::Create(layout, num_blocks, model.kv_memory()));
      storage.emplace(std::move(made));
    }
    if (storage->num_blocks() != num_blocks || storage->layout().block_size != block_size ||
        storage->layout().dtype != dtype) {
      return FailedPrecondition("rank 0 changed the KV pool's shape");
    }
    return &*storage;
  };
  KvShardFollower ssd(fs);
  std::vector<uint8_t> bytes;
  for (;;) {
    RETURN_IF_ERROR(comm.Broadcast(&bytes));
    if (KvShardFollower::IsKvMessage(bytes)) {
      RETURN_IF_ERROR(ssd.Serve(bytes, comm, pool_of_shape));
      continue;
    }
    ASSIGN_OR_RETURN(const StepMessage step, DecodeStepMessage(bytes));
    if (step.shutdown) return Status::Ok();
    ASSIGN_OR_RETURN(KvStorage * kv,
                     pool_of_shape(step.num_blocks, step.block_size, step.kv_dtype));
    const StepBatch batch = step.batch();
    // The leader checked the batch before sending it; a follower whose check fails is out of
    // step with it, which only ending the group can resolve.
    RETURN_IF_ERROR(model.ValidateBatch(batch, kv->view()));
    RETURN_IF_ERROR(model.Forward(batch, kv->view(), nullptr, pool));
  }
}

}  // namespace ts
