#include "cloudtwin/host/console.hpp"

namespace cloudtwin::host {

EscapeSplit split_at_escape(std::string_view input) {
  const auto at = input.find(kConsoleEscape);
  if (at == std::string_view::npos) return {input, false};
  return {input.substr(0, at), true};
}

ConsoleEnd run_console(ConsoleStream& console, Terminal& terminal, int poll_ms) {
  const auto drain = [&](int wait_ms) {
    for (auto out = console.receive(wait_ms);; out = console.receive(0)) {
      if (!out) return false;
      if (out->empty()) return true;
      terminal.write(*out);
    }
  };
  for (;;) {
    if (!drain(poll_ms)) return ConsoleEnd::ConsoleClosed;
    const auto in = terminal.read(poll_ms);
    if (!in) {
      // Piped input: what the guest answers to the last bytes is still worth showing.
      return drain(poll_ms * 5) ? ConsoleEnd::InputClosed : ConsoleEnd::ConsoleClosed;
    }
    const auto split = split_at_escape(*in);
    if (!split.before.empty()) console.send(split.before);
    if (split.escaped) return ConsoleEnd::Escape;
  }
}

}  // namespace cloudtwin::host
