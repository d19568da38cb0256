#include "engine/tensor_parallel_follower.h"

#include <optional>

#include "kv/kv_storage.h"
#include "model/step_message.h"

namespace ts {

Status RunTensorParallelFollower(Model& model, Communicator& comm, ThreadPool& pool) {
  std::optional<KvStorage> storage;
  std::vector<uint8_t> bytes;
  for (;;) {
    RETURN_IF_ERROR(comm.Broadcast(&bytes));
    ASSIGN_OR_RETURN(const StepMessage step, DecodeStepMessage(bytes));
    if (step.shutdown) return Status::Ok();
    const KvLayout layout = model.MakeKvLayout(step.block_size, step.kv_dtype);
    if (!storage || storage->num_blocks() != step.num_blocks ||
        storage->layout().block_size != layout.block_size ||
        storage->layout().dtype != layout.dtype) {
      storage.reset();
      ASSIGN_OR_RETURN(KvStorage made,
                       KvStorage::Create(layout, step.num_blocks, model.kv_memory()));
      storage.emplace(std::move(made));
    }
    const StepBatch batch = step.batch();
    // The leader checked the batch before sending it; a follower whose check fails is out of
    // step with it, which only ending the group can resolve.
    RETURN_IF_ERROR(model.ValidateBatch(batch, storage->view()));
    RETURN_IF_ERROR(model.Forward(batch, storage->view(), nullptr, pool));
  }
}

}  // namespace ts
