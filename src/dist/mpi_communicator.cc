#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <thread>

#include "base/check.h"
#include "base/log.h"
#include "base/mapped_file.h"
#include "dist/communicator.h"

namespace ts {
namespace {

using Clock = std::chrono::steady_clock;

Status MpiError(const char* what, int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return Internal(std::string("MPI ") + what + ": " +
                  std::string(text, static_cast<size_t>(length)));
}

#define TS_MPI(what, call)                                              \
  do {                                                                  \
    const int ts_mpi_code = (call);                                     \
    if (ts_mpi_code != MPI_SUCCESS) return MpiError(what, ts_mpi_code); \
  } while (false)

int CountOf(size_t n) {
  CHECK(n <= static_cast<size_t>(std::numeric_limits<int>::max())) << "message too large for MPI";
  return static_cast<int>(n);
}

// Where a rank runs: enough to tell whether it is still alive when its pid means the same
// process here, i.e. it runs under the same kernel boot and in the same pid namespace.
struct RankPlace {
  uint64_t pid_space;
  pid_t pid;
};

uint64_t PidSpace() {
  std::string id;
  if (auto boot = ReadFileToString("/proc/sys/kernel/random/boot_id", 256); boot.ok()) id = *boot;
  char ns[256];
  const ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof ns);
  if (id.empty() || n <= 0) return 0;  // unknown: never compared
  id.append(ns, static_cast<size_t>(n));
  return std::hash<std::string>{}(id) | 1;
}

// Every collective is started non-blocking and waited for here, so that a rank that died
// (MPI itself would wait for it forever) turns into an error: the leader then fails the
// requests of the step with a clear message while mpirun ends the job.
class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(int rank, int size, std::vector<RankPlace> places)
      : rank_(rank), size_(size), places_(std::move(places)) {}
  ~MpiCommunicator() override {
    // After a rank died MPI_Finalize would wait for it; mpirun ends this process instead.
    if (broken_.ok()) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  Status Broadcast(std::vector<uint8_t>* bytes) override {
    RETURN_IF_ERROR(broken_);
    uint64_t length = bytes->size();
    MPI_Request request;
    TS_MPI("broadcast", MPI_Ibcast(&length, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD, &request));
    // Followers wait here between steps, possibly for hours.
    RETURN_IF_ERROR(Wait(&request, /*idle=*/true));
    if (!is_leader()) bytes->resize(length);
    for (uint64_t done = 0; done < length;) {
      const int chunk = static_cast<int>(std::min<uint64_t>(length - done, 1u << 30));
      TS_MPI("broadcast",
             MPI_Ibcast(bytes->data() + done, chunk, MPI_BYTE, 0, MPI_COMM_WORLD, &request));
      RETURN_IF_ERROR(Wait(&request, /*idle=*/false));
      done += static_cast<uint64_t>(chunk);
    }
    return Status::Ok();
  }

  Status AllReduceSum(std::span<float> data) override {
    RETURN_IF_ERROR(broken_);
    // MPI_Allreduce may pick its summation order by message size; gathering the partial sums
    // and adding them in rank order fixes it.
    const int n = CountOf(data.size());
    gathered_.resize(data.size() * static_cast<size_t>(size_));
    MPI_Request request;
    TS_MPI("all-reduce", MPI_Iallgather(data.data(), n, MPI_FLOAT, gathered_.data(), n, MPI_FLOAT,
                                        MPI_COMM_WORLD, &request));
    RETURN_IF_ERROR(Wait(&request, /*idle=*/false));
    const float* parts = gathered_.data();
    for (size_t i = 0; i < data.size(); ++i) data[i] = parts[i];
    for (int r = 1; r < size_; ++r) {
      const float* part = parts + static_cast<size_t>(r) * data.size();
      for (size_t i = 0; i < data.size(); ++i) data[i] += part[i];
    }
    return Status::Ok();
  }

  Status GatherToLeader(std::span<const float> mine, std::vector<float>* all) override {
    RETURN_IF_ERROR(broken_);
    int count = CountOf(mine.size());
    std::vector<int> counts(static_cast<size_t>(size_)), offsets(static_cast<size_t>(size_));
    MPI_Request request;
    TS_MPI("gather",
           MPI_Igather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD, &request));
    RETURN_IF_ERROR(Wait(&request, /*idle=*/false));
    if (is_leader()) {
      int64_t total = 0;
      for (int r = 0; r < size_; ++r) {
        offsets[static_cast<size_t>(r)] = CountOf(static_cast<size_t>(total));
        total += counts[static_cast<size_t>(r)];
      }
      all->resize(static_cast<size_t>(total));
    }
    TS_MPI("gather",
           MPI_Igatherv(mine.data(), count, MPI_FLOAT, is_leader() ? all->data() : nullptr,
                        counts.data(), offsets.data(), MPI_FLOAT, 0, MPI_COMM_WORLD, &request));
    return Wait(&request, /*idle=*/false);
  }

  Status AllGather(std::span<const uint8_t> mine, std::vector<uint8_t>* all) override {
    RETURN_IF_ERROR(broken_);
    const int n = CountOf(mine.size());
    all->resize(mine.size() * static_cast<size_t>(size_));
    MPI_Request request;
    TS_MPI("all-gather", MPI_Iallgather(mine.data(), n, MPI_BYTE, all->data(), n, MPI_BYTE,
                                        MPI_COMM_WORLD, &request));
    return Wait(&request, /*idle=*/false);
  }

  [[noreturn]] void Abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  // Polls `request`, spinning for a moment (2 ms for a follower idle between steps, which
  // follow each other closely; 20 ms inside a step, whose ranks arrive nearly together) and
  // then sleeping up to 1 ms at a time. Every 50 ms of waiting, checks that the ranks on this
  // host are still alive.
  Status Wait(MPI_Request* request, bool idle) {
    const auto start = Clock::now();
    auto next_check = start + std::chrono::milliseconds(50);
    auto nap = std::chrono::microseconds(20);
    for (;;) {
      int done = 0;
      TS_MPI("wait", MPI_Test(request, &done, MPI_STATUS_IGNORE));
      if (done) return Status::Ok();
      const auto now = Clock::now();
      if (now >= next_check) {
        RETURN_IF_ERROR(CheckPeersAlive());
        next_check = now + std::chrono::milliseconds(50);
      }
      if (now - start > std::chrono::milliseconds(idle ? 2 : 20)) {
        std::this_thread::sleep_for(nap);
        nap = std::min(nap * 2, std::chrono::microseconds(1000));
      }
    }
  }

  Status CheckPeersAlive() {
    for (int r = 0; r < size_; ++r) {
      const RankPlace& p = places_[static_cast<size_t>(r)];
      const uint64_t here = places_[static_cast<size_t>(rank_)].pid_space;
      if (r == rank_ || here == 0 || p.pid_space != here) continue;
      if (kill(p.pid, 0) != 0 && errno == ESRCH) {
        broken_ = Unavailable("tensor-parallel rank " + std::to_string(r) + " (pid " +
                              std::to_string(p.pid) + ") has exited; this server cannot go on");
        LOG(ERROR) << broken_.message();
        return broken_;
      }
    }
    return Status::Ok();
  }

  const int rank_, size_;
  const std::vector<RankPlace> places_;  // [size]
  Status broken_;                        // once a rank is gone, every call fails with this
  std::vector<float> gathered_;
};

}  // namespace

Result<std::unique_ptr<Communicator>> ConnectMpiWorld() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return FailedPrecondition("MPI is already initialized in this process");
  // The engine thread makes the calls while the main thread waited for it: serialized use.
  int provided = 0;
  TS_MPI("init", MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided));
  if (provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    return FailedPrecondition("this MPI library does not allow calls from several threads");
  }
  // Errors come back as codes (turned into a Status) instead of aborting the process.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const RankPlace mine{PidSpace(), getpid()};
  std::vector<RankPlace> places(static_cast<size_t>(size));
  TS_MPI("all-gather", MPI_Allgather(&mine, sizeof mine, MPI_BYTE, places.data(), sizeof mine,
                                     MPI_BYTE, MPI_COMM_WORLD));
  return std::unique_ptr<Communicator>(new MpiCommunicator(rank, size, std::move(places)));
}

}  // namespace ts
