#include "dist/communicator.h"

#include <cstdlib>

namespace ts {

bool StartedByMpirun() { return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr; }

}  // namespace ts
