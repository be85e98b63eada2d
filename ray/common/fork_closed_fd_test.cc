#include "ray/common/fork_closed_fd.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "gtest/gtest.h"

namespace ray {
namespace {

ForkClosedFd held;
ForkClosedFd other;

TEST(ForkClosedFdTest, AChildDoesNotKeepTheDescriptorOpen) {
  int watched[2], release[2];
  ASSERT_EQ(pipe(watched), 0);
  ASSERT_EQ(pipe(release), 0);
  ASSERT_TRUE(held.TryHold(watched[1]));
  EXPECT_FALSE(held.TryHold(release[1]));  // holds one at a time

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Here the slot is empty and the descriptor closed; the child lives on until released.
    bool ok = held.Take() == -1 && fcntl(watched[1], F_GETFD) == -1 && errno == EBADF;
    close(release[1]);
    char byte;
    (void)!read(release[0], &byte, 1);
    _exit(ok ? 0 : 1);
  }
  close(release[0]);
  // The parent still holds it; once it closes its end, the reader sees the end of the pipe
  // although the child is alive: the child had no copy.
  int fd = held.Take();
  EXPECT_EQ(fd, watched[1]);
  EXPECT_EQ(held.Take(), -1);
  close(fd);
  // A child that kept a copy would hold the pipe open: a bounded wait then fails, not hangs.
  pollfd ended{watched[0], POLLIN, 0};
  ASSERT_EQ(poll(&ended, 1, 60'000), 1) << "the child keeps the pipe open";
  char byte;
  EXPECT_EQ(read(watched[0], &byte, 1), 0);
  close(release[1]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(watched[0]);
}

TEST(ForkClosedFdTest, ReleaseLetsGoOnlyOfTheDescriptorHeld) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_TRUE(other.TryHold(fds[0]));
  EXPECT_FALSE(other.Release(fds[1]));
  EXPECT_TRUE(other.Release(fds[0]));
  EXPECT_EQ(other.Take(), -1);
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace ray
