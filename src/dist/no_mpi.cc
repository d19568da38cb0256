// ConnectMpiWorld in a build without MPI (TIERSERVE_MPI off).
#include "dist/communicator.h"

namespace ts {

Result<std::unique_ptr<Communicator>> ConnectMpiWorld() {
  return FailedPrecondition(
      "this tierserve was built without MPI (install libopenmpi-dev and rebuild with "
      "-DTIERSERVE_MPI=ON): tensor parallelism is not available");
}

}  // namespace ts
