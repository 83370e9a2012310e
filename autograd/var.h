// Variables and the tape.
//
// A Var wraps a Tensor value and, when it requires a gradient, the gradient the reverse
// pass accumulates into it. Ops record a Node only when grad mode is on and some input
// requires a gradient; the Node keeps its inputs and a hand-written backward closure that
// saves only what it needs. backward() visits the recorded nodes in reverse topological
// order (the tape, read backwards) and adds (+=) each node's input gradients.
//
// Gradients are kept for leaves (Vars made by the user with requires_grad) in Var::grad();
// intermediate gradients live only during backward().
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace rsnn::ag {

struct Node;

struct VarImpl {
  Tensor value;
  Tensor grad;  // undefined until a backward pass reaches this leaf
  bool requires_grad = false;
  std::shared_ptr<Node> creator;  // null for leaves and for values recorded without grad
  std::string name;
};

class Var {
 public:
  Var() = default;
  explicit Var(Tensor value, bool requires_grad = false, std::string name = "");

  bool defined() const { return p_ != nullptr; }
  Tensor& value() const;
  Tensor& grad() const;  // undefined before backward reaches this Var
  bool requires_grad() const { return p_ && p_->requires_grad; }
  void set_requires_grad(bool on);
  void zero_grad() const;  // forget the gradient (it becomes undefined)
  const std::string& name() const;
  std::shared_ptr<Node> creator() const { return p_ ? p_->creator : nullptr; }
  bool is_leaf() const { return !creator(); }
  Var detach() const;  // same value (shared storage), no history, no gradient
  const std::shared_ptr<VarImpl>& impl() const { return p_; }

  // Convenience views of the value.
  const Shape& shape() const { return value().shape(); }
  DType dtype() const { return value().dtype(); }
  Device device() const { return value().device(); }

 private:
  explicit Var(std::shared_ptr<VarImpl> p) : p_(std::move(p)) {}
  std::shared_ptr<VarImpl> p_;
  friend std::vector<Var> record(const std::string&, const std::vector<Var>&,
                                 const std::vector<Tensor>&, struct BackwardFnHolder);
  friend struct Engine;
};

// ---- grad mode -------------------------------------------------------------------
bool grad_enabled();
// While alive, ops record nothing (evaluation, optimizer updates, finite differences).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// ---- recording ops -----------------------------------------------------------------
// A backward closure receives the gradient of every output (zeros where none flowed) and
// returns one tensor per input: its gradient contribution, or an undefined Tensor for
// "no gradient" (the input does not require one, or is not differentiable).
using BackwardFn =
    std::function<std::vector<Tensor>(const std::vector<Tensor>& grad_outputs)>;

struct Node {
  std::string name;
  std::vector<Var> inputs;
  std::vector<std::weak_ptr<VarImpl>> outputs;
  std::vector<Shape> output_shapes;
  std::vector<DType> output_dtypes;
  std::vector<Device> output_devices;
  BackwardFn backward;  // reset after a backward pass that does not retain the graph
};

struct BackwardFnHolder {
  BackwardFn fn;
};

// Wrap `outputs` as Vars. When grad mode is on and any input requires a gradient, a Node
// holding `backward` is recorded and the outputs require gradients; otherwise `backward`
// is dropped and the outputs are plain values.
std::vector<Var> record(const std::string& name, const std::vector<Var>& inputs,
                        const std::vector<Tensor>& outputs, BackwardFnHolder backward);
// One-output form.
Var record1(const std::string& name, const std::vector<Var>& inputs, const Tensor& output,
            BackwardFn backward);
// True when an op over these inputs will be recorded (lets ops skip saving state).
bool will_record(const std::vector<Var>& inputs);

// ---- reverse pass ------------------------------------------------------------------
// Back-propagate from `root`. `seed` is d(objective)/d(root); it may be omitted when root
// holds one element (seed = 1). Leaf gradients accumulate (+=) across calls until
// zero_grad(). With retain_graph = false the nodes' saved state is released.
void backward(const Var& root, const Tensor& seed = Tensor(), bool retain_graph = false);

}  // namespace rsnn::ag
