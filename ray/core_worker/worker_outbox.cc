#include "ray/core_worker/worker_outbox.h"

#include "ray/rpc/worker_messages.h"

namespace ray::core {
namespace {

// Bytes an item adds to a message besides its values (pointers, IDs, fields), roughly.
constexpr size_t kItemOverhead = 64;
constexpr size_t kIdBytes = 40;  // an ID in a List(Data)

// The part of one of the outbox's lists that goes in the message being built.
struct Slice {
  size_t from = 0, to = 0;
  size_t size() const { return to - from; }
};

template <typename Id>
void SetIds(capnp::List<capnp::Data>::Builder out, const std::vector<Id>& ids, Slice slice) {
  WriteIdList(out, std::span<const Id>(ids).subspan(slice.from, slice.size()));
}

template <typename T>
void SetOrphans(typename capnp::List<T>::Builder out, const std::vector<capnp::Orphan<T>>& items,
                Slice slice) {
  for (size_t i = slice.from; i < slice.to; ++i)
    out.setWithCaveats(i - slice.from, items[i].getReader());
}

size_t OrphanBytes(const auto& orphan) {
  return orphan.getReader().totalSize().wordCount * sizeof(capnp::word);
}

}  // namespace

void WorkerOutbox::QueueOn(MessageStream& stream,
                           const std::function<void(rpc::FromWorker::Builder)>& extra,
                           faults::Action fault) {
  Slice functions_part, puts_part, submits_part, add_part, done_part, remove_part, back_part,
      copied_part, kill_part, restart_part, exiting_part;
  while (true) {
    // Each list goes on where the last message left it, while the budget lasts.
    size_t budget = rpc::BATCH_BYTES;
    auto take = [&](Slice& part, size_t size, auto size_of) {
      part.from = part.to;
      part.to = TakeWithin(part.from, size, budget, size_of);
      return part.to == size;
    };
    auto id_bytes = [](size_t) { return kIdBytes; };
    bool last = take(functions_part, functions.size(),
                     [&](size_t i) { return FunctionDefBytes(functions[i].second); });
    last &= take(puts_part, puts.size(), [&](size_t i) {
      const std::string* value = std::get_if<std::string>(&puts[i].value);
      return (value != nullptr ? value->size() : 0) + puts[i].nested_refs.size() * kIdBytes +
             kItemOverhead;
    });
    last &= take(submits_part, submits.size(), [&](size_t i) { return OrphanBytes(submits[i]); });
    last &= take(add_part, add_refs.size(), id_bytes);
    last &= take(done_part, done.size(), [&](size_t i) { return OrphanBytes(done[i]); });
    last &= take(remove_part, remove_refs.size(), id_bytes);
    last &= take(back_part, handed_back.size(), id_bytes);
    last &= take(copied_part, copied.size(), id_bytes);
    last &= take(kill_part, kill_actors.size(), id_bytes);
    last &= take(restart_part, restart_actors.size(), id_bytes);
    last &= take(exiting_part, exiting_actors.size(), id_bytes);

    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<rpc::FromWorker>();
    auto functions_out = root.initFunctions(functions_part.size());
    for (size_t i = functions_part.from; i < functions_part.to; ++i) {
      // Only functions this process described itself are sent (see WorkerRuntime::Submit).
      const auto& [key, f] = functions[i];
      WriteFunctionDef(functions_out[i - functions_part.from], key, f);
    }
    auto puts_out = root.initPuts(puts_part.size());
    for (size_t i = puts_part.from; i < puts_part.to; ++i) {
      const Put& put = puts[i];
      auto out = puts_out[i - puts_part.from];
      if (auto* value = std::get_if<std::string>(&put.value)) {
        WriteObject(out, put.id, *value, put.nested_refs);
      } else {
        WriteStoredObject(out, put.id, std::get<uint64_t>(put.value), put.nested_refs);
      }
    }
    SetOrphans<rpc::Task>(root.initSubmits(submits_part.size()), submits, submits_part);
    SetIds(root.initAddRefs(add_part.size()), add_refs, add_part);
    SetOrphans<rpc::TaskDone>(root.initDone(done_part.size()), done, done_part);
    SetIds(root.initRemoveRefs(remove_part.size()), remove_refs, remove_part);
    SetIds(root.initHandedBack(back_part.size()), handed_back, back_part);
    SetIds(root.initCopied(copied_part.size()), copied, copied_part);
    SetIds(root.initKillActors(kill_part.size()), kill_actors, kill_part);
    SetIds(root.initRestartActors(restart_part.size()), restart_actors, restart_part);
    SetIds(root.initExitingActors(exiting_part.size()), exiting_actors, exiting_part);
    if (last && extra) extra(root);
    stream.Queue(message, std::exchange(fault, faults::Action::kNone));
    if (last) break;
  }
  submits.clear();  // orphans go before the arena they live in
  done.clear();
  *this = WorkerOutbox();
}

}  // namespace ray::core
