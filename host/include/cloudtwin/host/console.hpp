#pragma once
// `cloudtwin vm console`: raw bytes between the terminal and the VM's serial console until
// the user types Ctrl-] (as virsh console does). The loop is here, the I/O behind seams.

#include <optional>
#include <string>
#include <string_view>

#include "cloudtwin/host/adapters.hpp"

namespace cloudtwin::host {

inline constexpr char kConsoleEscape = '\x1d';  // Ctrl-]

// The user's side: stdin/stdout in raw mode when stdin is a terminal.
class Terminal {
 public:
  virtual ~Terminal() = default;
  // Waits up to `timeout_ms` for input: the bytes, "" when none came, nullopt at end of input.
  virtual std::optional<std::string> read(int timeout_ms) = 0;
  virtual void write(std::string_view bytes) = 0;
};

struct EscapeSplit {
  std::string_view before;  // bytes to send
  bool escaped = false;     // the escape character was typed (it and what follows are dropped)
};
EscapeSplit split_at_escape(std::string_view input);

enum class ConsoleEnd { Escape, InputClosed, ConsoleClosed };

// Relays until the escape character, the end of input (after a last drain of guest output)
// or the console closing. `poll_ms` bounds the latency in each direction.
ConsoleEnd run_console(ConsoleStream& console, Terminal& terminal, int poll_ms = 20);

// stdin/stdout; raw mode (restored on destruction) when stdin is a terminal.
std::unique_ptr<Terminal> make_posix_terminal();

}  // namespace cloudtwin::host
