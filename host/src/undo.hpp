#pragma once
// Private to the services' create paths (VmService, NetService): plan-then-apply rollback.
#include <functional>
#include <utility>
#include <vector>

namespace cloudtwin::host {

// Steps done so far; undone in reverse unless committed.
class Undo {
 public:
  Undo() = default;
  Undo(const Undo&) = delete;
  Undo& operator=(const Undo&) = delete;
  ~Undo() {
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
      try {
        (*it)();
      } catch (...) {  // keep undoing the rest; a destructor cannot throw
      }
    }
  }
  void push(std::function<void()> step) { steps_.push_back(std::move(step)); }
  void commit() { steps_.clear(); }

 private:
  std::vector<std::function<void()>> steps_;
};

}  // namespace cloudtwin::host
