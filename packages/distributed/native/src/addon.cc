// @kindling/distributed's native addon: Gloo's collectives (TCP transport) behind a process group,
// and NCCL opened at run time (nccl.cc).
//
// Threading: every process group owns one worker thread and a FIFO of jobs. Collectives must run
// in the same order on every rank and one at a time on a Gloo context, so a single thread per
// group is both the simplest and the correct schedule; the event loop only enqueues and is told of
// completion through a ThreadSafeFunction, so it never blocks. The rendezvous store lives in
// JavaScript (src/store.ts): Gloo's connectFullMesh runs on the worker thread and reaches it
// through StoreBridge, which posts each set/get/wait to the event loop and waits for the answer.
#include <napi.h>

#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/config.h>
#include <gloo/math.h>
#include <gloo/reduce_scatter.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "nccl.h"

namespace {

enum class Op { Sum = 0, Min = 1, Max = 2 };

// ---------------------------------------------------------------------------------------------
// StoreBridge: gloo::rendezvous::Store whose operations run in JS (the TCP store client).

struct StoreRequest {
  std::string op;  // "set" | "get" | "wait"
  std::vector<std::string> keys;
  std::vector<char> value;
  int64_t timeoutMs = 0;
  std::promise<std::vector<char>> result;
};

class StoreBridge : public gloo::rendezvous::Store {
 public:
  StoreBridge(Napi::ThreadSafeFunction tsfn, int64_t timeoutMs) : tsfn_(tsfn), timeoutMs_(timeoutMs) {}

  void set(const std::string& key, const std::vector<char>& data) override { call("set", {key}, data); }
  std::vector<char> get(const std::string& key) override { return call("get", {key}, {}); }
  void wait(const std::vector<std::string>& keys) override { call("wait", keys, {}); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds&) override { call("wait", keys, {}); }

 private:
  std::vector<char> call(const char* op, std::vector<std::string> keys, std::vector<char> value) {
    // Owned by both sides: the JS answer may come after this thread gave up on a dead store.
    auto* holder = new std::shared_ptr<StoreRequest>(std::make_shared<StoreRequest>());
    auto req = *holder;
    req->op = op;
    req->keys = std::move(keys);
    req->value = std::move(value);
    req->timeoutMs = timeoutMs_;
    auto fut = req->result.get_future();
    napi_status st = tsfn_.BlockingCall(holder, [](Napi::Env env, Napi::Function fn, std::shared_ptr<StoreRequest>* h) {
      auto r = *h;
      Napi::Array keys = Napi::Array::New(env, r->keys.size());
      for (size_t i = 0; i < r->keys.size(); i++) keys.Set(i, Napi::String::New(env, r->keys[i]));
      Napi::Buffer<char> value = Napi::Buffer<char>::Copy(env, r->value.data(), r->value.size());
      Napi::Function done = Napi::Function::New(
          env,
          [](const Napi::CallbackInfo& info) {
            auto* hh = static_cast<std::shared_ptr<StoreRequest>*>(info.Data());
            auto rr = *hh;
            delete hh;
            if (!info[0].IsNull() && !info[0].IsUndefined()) {
              rr->result.set_exception(std::make_exception_ptr(std::runtime_error(info[0].ToString().Utf8Value())));
            } else if (info[1].IsBuffer()) {
              auto b = info[1].As<Napi::Buffer<char>>();
              rr->result.set_value(std::vector<char>(b.Data(), b.Data() + b.Length()));
            } else {
              rr->result.set_value({});
            }
          },
          "storeDone", h);
      fn.Call({Napi::String::New(env, r->op), keys, value, Napi::Number::New(env, static_cast<double>(r->timeoutMs)), done});
    });
    if (st != napi_ok) {
      delete holder;
      throw std::runtime_error("rendezvous store: the event loop is gone");
    }
    // The JS side enforces the timeout; this margin only guards against a store that never answers.
    if (fut.wait_for(std::chrono::milliseconds(timeoutMs_ + 5000)) != std::future_status::ready) {
      throw std::runtime_error(std::string("rendezvous store: no answer to ") + op + " within " + std::to_string(timeoutMs_) + " ms");
    }
    return fut.get();
  }

  Napi::ThreadSafeFunction tsfn_;
  int64_t timeoutMs_;
};

// ---------------------------------------------------------------------------------------------
// Jobs: work on the group's thread, then resolve or reject a promise on the event loop.

struct Job {
  Napi::Promise::Deferred deferred;
  std::function<void()> work;
  std::vector<Napi::Reference<Napi::Value>> keep;  // typed arrays the work reads and writes
  std::string error;
  explicit Job(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

struct Span {
  void* data;
  size_t elements;
  int dtype;  // 0 float32, 1 int32
};

Span spanOf(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Float32Array or Int32Array");
  auto ta = v.As<Napi::TypedArray>();
  int dtype;
  if (ta.TypedArrayType() == napi_float32_array) dtype = 0;
  else if (ta.TypedArrayType() == napi_int32_array) dtype = 1;
  else throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Float32Array or Int32Array");
  auto* base = static_cast<char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  return {base, ta.ElementLength(), dtype};
}

template <typename T>
gloo::AllreduceOptions::Func reduceFn(Op op) {
  switch (op) {
    case Op::Min: return [](void* c, const void* a, const void* b, size_t n) { gloo::min<T>(c, a, b, n); };
    case Op::Max: return [](void* c, const void* a, const void* b, size_t n) { gloo::max<T>(c, a, b, n); };
    default: return [](void* c, const void* a, const void* b, size_t n) { gloo::sum<T>(c, a, b, n); };
  }
}

template <typename T>
const gloo::ReductionFunction<T>* reductionOf(Op op) {
  switch (op) {
    case Op::Min: return gloo::ReductionFunction<T>::min;
    case Op::Max: return gloo::ReductionFunction<T>::max;
    default: return gloo::ReductionFunction<T>::sum;
  }
}

class ProcessGroup : public Napi::ObjectWrap<ProcessGroup> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "GlooProcessGroup",
                       {InstanceMethod("connect", &ProcessGroup::Connect), InstanceMethod("allReduce", &ProcessGroup::AllReduce),
                        InstanceMethod("broadcast", &ProcessGroup::Broadcast), InstanceMethod("allGather", &ProcessGroup::AllGather),
                        InstanceMethod("reduceScatter", &ProcessGroup::ReduceScatter), InstanceMethod("barrier", &ProcessGroup::Barrier),
                        InstanceMethod("close", &ProcessGroup::Close)});
  }

  // new GlooProcessGroup(rank, size, timeoutMs, hostname, iface): the TCP device binds `iface`
  // (GLOO_SOCKET_IFNAME) when given, else the address `hostname` resolves to.
  explicit ProcessGroup(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProcessGroup>(info) {
    rank_ = info[0].As<Napi::Number>().Int32Value();
    size_ = info[1].As<Napi::Number>().Int32Value();
    timeoutMs_ = info[2].As<Napi::Number>().Int64Value();
    hostname_ = info[3].As<Napi::String>().Utf8Value();
    iface_ = info[4].As<Napi::String>().Utf8Value();
    done_ = Napi::ThreadSafeFunction::New(info.Env(), Napi::Function::New(info.Env(), [](const Napi::CallbackInfo&) {}), "kindling-gloo-done", 0, 1);
    done_.Unref(info.Env());
    thread_ = std::thread([this] { loop(); });
  }

  ~ProcessGroup() override { shutdown(); }

 private:
  // connect(storeCallback) → Promise<void>: Gloo's full-mesh rendezvous over the JS store.
  Napi::Value Connect(const Napi::CallbackInfo& info) {
    auto tsfn = Napi::ThreadSafeFunction::New(info.Env(), info[0].As<Napi::Function>(), "kindling-gloo-store", 0, 1);
    auto store = std::make_shared<StoreBridge>(tsfn, timeoutMs_);
    return enqueue(info.Env(), {}, [this, store, tsfn]() mutable {
      struct Release {
        Napi::ThreadSafeFunction& t;
        ~Release() { t.Release(); }
      } release{tsfn};
      gloo::transport::tcp::attr attr;
      if (iface_.empty()) attr.hostname = hostname_;
      else attr.iface = iface_;
      auto dev = gloo::transport::tcp::CreateDevice(attr);
      auto ctx = std::make_shared<gloo::rendezvous::Context>(rank_, size_);
      ctx->setTimeout(std::chrono::milliseconds(timeoutMs_));
      ctx->connectFullMesh(*store, dev);
      context_ = ctx;
    });
  }

  // allReduce(array, op) in place.
  Napi::Value AllReduce(const Napi::CallbackInfo& info) {
    Span s = spanOf(info[0], "allReduce: data");
    Op op = static_cast<Op>(info[1].As<Napi::Number>().Int32Value());
    return enqueue(info.Env(), {info[0]}, [this, s, op] {
      gloo::AllreduceOptions opts(ctx());
      opts.setTag(nextTag());
      opts.setTimeout(std::chrono::milliseconds(timeoutMs_));
      if (s.dtype == 0) {
        opts.setOutput(static_cast<float*>(s.data), s.elements);
        opts.setReduceFunction(reduceFn<float>(op));
      } else {
        opts.setOutput(static_cast<int32_t*>(s.data), s.elements);
        opts.setReduceFunction(reduceFn<int32_t>(op));
      }
      gloo::allreduce(opts);
    });
  }

  // broadcast(array, root) in place.
  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    Span s = spanOf(info[0], "broadcast: data");
    int root = info[1].As<Napi::Number>().Int32Value();
    return enqueue(info.Env(), {info[0]}, [this, s, root] {
      gloo::BroadcastOptions opts(ctx());
      opts.setTag(nextTag());
      opts.setTimeout(std::chrono::milliseconds(timeoutMs_));
      opts.setRoot(root);
      if (s.dtype == 0) opts.setOutput(static_cast<float*>(s.data), s.elements);
      else opts.setOutput(static_cast<int32_t*>(s.data), s.elements);
      gloo::broadcast(opts);
    });
  }

  // allGather(input, output): output holds size × input, rank order.
  Napi::Value AllGather(const Napi::CallbackInfo& info) {
    Span in = spanOf(info[0], "allGather: input");
    Span out = spanOf(info[1], "allGather: output");
    return enqueue(info.Env(), {info[0], info[1]}, [this, in, out] {
      gloo::AllgatherOptions opts(ctx());
      opts.setTag(nextTag());
      opts.setTimeout(std::chrono::milliseconds(timeoutMs_));
      if (in.dtype == 0) {
        opts.setInput(static_cast<float*>(in.data), in.elements);
        opts.setOutput(static_cast<float*>(out.data), out.elements);
      } else {
        opts.setInput(static_cast<int32_t*>(in.data), in.elements);
        opts.setOutput(static_cast<int32_t*>(out.data), out.elements);
      }
      gloo::allgather(opts);
    });
  }

  // reduceScatter(data, recvCounts: Int32Array, op): Gloo's halving-doubling reduce-scatter; this
  // rank's share of the reduction ends up at the start of `data`.
  Napi::Value ReduceScatter(const Napi::CallbackInfo& info) {
    Span s = spanOf(info[0], "reduceScatter: data");
    auto countsArr = info[1].As<Napi::Int32Array>();
    std::vector<int> counts(countsArr.Data(), countsArr.Data() + countsArr.ElementLength());
    Op op = static_cast<Op>(info[2].As<Napi::Number>().Int32Value());
    return enqueue(info.Env(), {info[0]}, [this, s, counts, op] {
      auto c = ctx();
      if (s.dtype == 0) {
        gloo::ReduceScatterHalvingDoubling<float> alg(c, {static_cast<float*>(s.data)}, static_cast<int>(s.elements), counts, reductionOf<float>(op));
        alg.run();
      } else {
        gloo::ReduceScatterHalvingDoubling<int32_t> alg(c, {static_cast<int32_t*>(s.data)}, static_cast<int>(s.elements), counts, reductionOf<int32_t>(op));
        alg.run();
      }
    });
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    return enqueue(info.Env(), {}, [this] {
      gloo::BarrierOptions opts(ctx());
      opts.setTag(nextTag());
      opts.setTimeout(std::chrono::milliseconds(timeoutMs_));
      gloo::barrier(opts);
    });
  }

  // close(): finishes queued work, then drops the connections (peers see them close).
  Napi::Value Close(const Napi::CallbackInfo& info) {
    shutdown();
    return info.Env().Undefined();
  }

  std::shared_ptr<gloo::Context> ctx() {
    if (!context_) throw std::runtime_error("the process group is not connected");
    return context_;
  }
  uint32_t nextTag() { return tag_++; }

  Napi::Value enqueue(Napi::Env env, std::vector<Napi::Value> keep, std::function<void()> work) {
    auto* job = new Job(env);
    auto promise = job->deferred.Promise();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        job->deferred.Reject(Napi::Error::New(env, "the process group is closed").Value());
        delete job;
        return promise;
      }
      for (auto& v : keep) job->keep.push_back(Napi::Persistent(v));
      job->work = std::move(work);
      queue_.push_back(job);
    }
    // Pending work keeps the process alive, as a pending socket would; idle groups do not.
    if (pending_++ == 0) done_.Ref(env);
    cv_.notify_one();
    return promise;
  }

  void loop() {
    for (;;) {
      Job* job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = queue_.front();
        queue_.pop_front();
      }
      try {
        job->work();
      } catch (const std::exception& e) {
        job->error = e.what();
        if (job->error.empty()) job->error = "unknown error";
      } catch (...) {
        job->error = "unknown error";
      }
      auto* self = this;
      done_.BlockingCall(job, [self](Napi::Env env, Napi::Function, Job* j) {
        if (j->error.empty()) j->deferred.Resolve(env.Undefined());
        else j->deferred.Reject(Napi::Error::New(env, j->error).Value());
        delete j;
        if (--self->pending_ == 0) self->done_.Unref(env);
      });
    }
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    context_.reset();
    done_.Release();
  }

  int rank_ = 0, size_ = 1;
  int64_t timeoutMs_ = 30000;
  std::string hostname_, iface_;
  std::shared_ptr<gloo::Context> context_;
  uint32_t tag_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  int pending_ = 0;  // touched on the event loop only
  Napi::ThreadSafeFunction done_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("GlooProcessGroup", ProcessGroup::Init(env));
  exports.Set("glooVersion", Napi::String::New(env, std::to_string(GLOO_VERSION_MAJOR) + "." + std::to_string(GLOO_VERSION_MINOR) + "." +
                                                        std::to_string(GLOO_VERSION_PATCH)));
  kindling_nccl::Init(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(kindling_distributed, Init)
