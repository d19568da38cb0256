#include "app/tensor_parallel_group.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/mapped_file.h"

namespace ts::app {
namespace {

// This process's own command line, from /proc/self/cmdline (NUL-separated).
Result<std::vector<std::string>> OwnArguments() {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString("/proc/self/cmdline", 1 << 20));
  std::vector<std::string> args;
  for (size_t at = 0; at < text.size();) {
    const size_t end = text.find('\0', at);
    args.push_back(text.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return args;
}

constexpr const char* kLeaderPidFile = "TIERSERVE_LEADER_PID_FILE";

// argv for mpirun starting this program with its own arguments on `size` ranks.
Result<std::vector<std::string>> MpirunCommand(int32_t size) {
  ASSIGN_OR_RETURN(std::vector<std::string> own, OwnArguments());
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0 || own.empty()) return Internal("cannot find this program's path or arguments");
  std::vector<std::string> args = {"mpirun",          "-np",       std::to_string(size),
                                   "--oversubscribe", "--bind-to", "none",
                                   "--stdin",         "none"};
  // Open MPI refuses to start ranks as root unless told; containers commonly run as root.
  if (geteuid() == 0) args.push_back("--allow-run-as-root");
  args.emplace_back(exe, static_cast<size_t>(n));
  args.insert(args.end(), own.begin() + 1, own.end());
  return args;
}

// Rank 0's pid once it has announced it, else 0.
pid_t LeaderPid(const std::string& pid_file) {
  auto text = ReadFileToString(pid_file, 64);
  return text.ok() ? static_cast<pid_t>(std::atol(text->c_str())) : 0;
}

// Outside mpirun: runs the ranks under mpirun and passes signals to rank 0 (see the header).
Status LaunchRanks(int32_t size) {
  ASSIGN_OR_RETURN(std::vector<std::string> args, MpirunCommand(size));
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // A private folder for rank 0's pid: nobody else can plant a file there.
  char dir_template[] = "/tmp/tierserve-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return Internal(std::string("mkdtemp: ") + strerror(errno));
  const std::string dir = dir_template, pid_file = dir + "/leader.pid";
  setenv(kLeaderPidFile, pid_file.c_str(), 1);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  LOG(INFO) << "--tensor-parallel " << size << ": starting " << size << " ranks with mpirun";
  const pid_t launcher = getpid();
  const pid_t child = fork();
  if (child < 0) return Internal(std::string("fork: ") + strerror(errno));
  if (child == 0) {
    setpgid(0, 0);  // a terminal's Ctrl-C reaches the launcher, not mpirun
    // If the launcher dies (SIGKILL, SIGHUP), mpirun and with it every rank end too.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != launcher) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    execvp("mpirun", argv.data());
    std::fprintf(stderr, "--tensor-parallel: cannot run mpirun (install openmpi-bin): %s\n",
                 strerror(errno));
    _exit(127);
  }
  int wait_status = 0;
  for (;;) {
    const timespec tick{0, 100'000'000};
    const int signal = sigtimedwait(&signals, nullptr, &tick);
    if (signal > 0) {
      const pid_t leader = LeaderPid(pid_file);
      const bool to_leader = leader > 0 && kill(leader, signal) == 0;
      LOG(INFO) << "signal " << signal << ": passed to "
                << (to_leader ? "rank 0" : "mpirun (rank 0 is not serving)");
      if (!to_leader) kill(child, signal);
    }
    const pid_t done = waitpid(child, &wait_status, WNOHANG);
    if (done == child) break;
  }
  unlink(pid_file.c_str());
  rmdir(dir.c_str());
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return Status::Ok();
  return Internal("the ranks did not all end cleanly (mpirun " +
                  (WIFEXITED(wait_status)
                       ? "exited " + std::to_string(WEXITSTATUS(wait_status))
                       : "was killed by signal " + std::to_string(WTERMSIG(wait_status))) +
                  ")");
}

// Under mpirun: the group this process is one rank of.
Result<std::unique_ptr<Communicator>> JoinGroup(int32_t size) {
  ASSIGN_OR_RETURN(std::unique_ptr<Communicator> group, ConnectMpiWorld());
  if (group->size() != size) {
    return InvalidArgument("--tensor-parallel " + std::to_string(size) + " but mpirun started " +
                           std::to_string(group->size()) + " ranks");
  }
  return group;
}

}  // namespace

Status RunOnRanks(int32_t size, const std::function<Status(Communicator* group)>& body) {
  if (size < 1) return InvalidArgument("--tensor-parallel must be >= 1");
  if (size == 1) return body(nullptr);
  if (!StartedByMpirun()) return LaunchRanks(size);
  ASSIGN_OR_RETURN(std::unique_ptr<Communicator> group, JoinGroup(size));
  Status status = body(group.get());
  if (!status.ok()) {
    LOG(ERROR) << "rank " << group->rank() << ": " << status.ToString() << "; ending every rank";
    group->Abort(1);
  }
  return status;
}

void AnnounceLeader() {
  const char* pid_file = std::getenv(kLeaderPidFile);
  if (pid_file == nullptr) return;
  if (Status s = WriteFileAtomically(pid_file, std::to_string(getpid())); !s.ok()) {
    LOG(WARNING) << "cannot tell the launcher rank 0's pid (signals go to mpirun): "
                 << s.ToString();
  }
}

int32_t ThreadsPerRank(int32_t threads, const Communicator* group) {
  if (threads > 0) return threads;
  // The ranks on this host (mpirun says how many); one per host when it does not.
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  const int ranks = group == nullptr || local == nullptr ? 1 : std::max(1, std::atoi(local));
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / ranks);
}

}  // namespace ts::app
