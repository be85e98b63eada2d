// Runs a program to its end and collects what it printed: for tests and benchmarks that drive
// the real `ray` binary and other programs. Everything the child needs is built before the fork
// (the caller may have threads).
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

extern char** environ;

namespace ray::testing {

struct RunResult {
  int exit_code = -1;  // 128 + the signal if one ended it; -1 if it could not start
  std::string output;  // stdout and stderr
};

// Runs `argv` (argv[0] is the program's path) to its end, with `env` added to this process's
// environment.
inline RunResult RunProgram(std::vector<std::string> argv,
                            const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    if (!env.contains(entry.substr(0, entry.find('=')))) env_strings.push_back(std::move(entry));
  }
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> raw_env;
  for (std::string& s : env_strings) raw_env.push_back(s.data());
  raw_env.push_back(nullptr);
  std::vector<char*> raw;
  for (std::string& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  RunResult result;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return result;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    execve(raw[0], raw.data(), raw_env.data());
    _exit(127);
  }
  close(out[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) result.output.append(buf, n);
  close(out[0]);
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace ray::testing
