#include "autograd/var.h"

#include <unordered_map>
#include <unordered_set>

#include "kernels/accumulate.h"

namespace rsnn::ag {

namespace {
thread_local bool g_grad_enabled = true;
}

Var::Var(Tensor value, bool requires_grad, std::string name)
    : p_(std::make_shared<VarImpl>()) {
  RSNN_CHECK(value.defined(), "Var: undefined value", name.empty() ? "" : " for ", name);
  RSNN_CHECK(!requires_grad || is_floating(value.dtype()), "Var ", name,
             ": only float tensors can require gradients, got ", dtype_name(value.dtype()));
  p_->value = std::move(value);
  p_->requires_grad = requires_grad;
  p_->name = std::move(name);
}

Tensor& Var::value() const {
  RSNN_CHECK(p_, "access to an undefined Var");
  return p_->value;
}
Tensor& Var::grad() const {
  RSNN_CHECK(p_, "access to an undefined Var");
  return p_->grad;
}
void Var::set_requires_grad(bool on) {
  RSNN_CHECK(p_, "set_requires_grad on an undefined Var");
  RSNN_CHECK(!on || is_floating(p_->value.dtype()), "Var ", p_->name,
             ": only float tensors can require gradients");
  p_->requires_grad = on;
}
void Var::zero_grad() const {
  if (p_) p_->grad = Tensor();
}
const std::string& Var::name() const {
  static const std::string empty;
  return p_ ? p_->name : empty;
}
Var Var::detach() const { return Var(value(), false, name()); }

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }

bool will_record(const std::vector<Var>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Var& v : inputs)
    if (v.requires_grad()) return true;
  return false;
}

std::vector<Var> record(const std::string& name, const std::vector<Var>& inputs,
                        const std::vector<Tensor>& outputs, BackwardFnHolder backward) {
  std::vector<Var> out;
  out.reserve(outputs.size());
  if (!will_record(inputs)) {
    for (const Tensor& t : outputs) out.emplace_back(t, false);
    return out;
  }
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = inputs;
  node->backward = std::move(backward.fn);
  for (const Tensor& t : outputs) {
    auto impl = std::make_shared<VarImpl>();
    impl->value = t;
    impl->requires_grad = is_floating(t.dtype());
    impl->creator = node;
    node->outputs.push_back(impl);
    node->output_shapes.push_back(t.shape());
    node->output_dtypes.push_back(t.dtype());
    node->output_devices.push_back(t.device());
    out.push_back(Var(impl));
  }
  return out;
}

Var record1(const std::string& name, const std::vector<Var>& inputs, const Tensor& output,
            BackwardFn backward) {
  return record(name, inputs, {output}, BackwardFnHolder{std::move(backward)})[0];
}

struct Engine {
  // Nodes reachable from root, ordered so that every node comes after all nodes that
  // consume its outputs (reverse topological order of the forward pass).
  static std::vector<Node*> order(Node* root) {
    std::vector<Node*> post;
    std::unordered_set<Node*> seen;
    std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
    seen.insert(root);
    while (!stack.empty()) {
      auto& [n, i] = stack.back();
      if (i < n->inputs.size()) {
        Node* c = n->inputs[i++].creator().get();
        if (c && seen.insert(c).second) stack.push_back({c, 0});
      } else {
        post.push_back(n);
        stack.pop_back();
      }
    }
    return std::vector<Node*>(post.rbegin(), post.rend());
  }

  static void add_into(Tensor& slot, Tensor g) {
    if (!slot.defined()) {
      slot = std::move(g);
    } else {
      kernels::accumulate_(slot, g);
    }
  }
};

void backward(const Var& root, const Tensor& seed, bool retain_graph) {
  RSNN_CHECK(root.defined(), "backward: undefined Var");
  RSNN_CHECK(root.requires_grad(), "backward: '", root.name(),
             "' does not require a gradient (no input of its ops requires one)");
  Tensor g0 = seed;
  if (!g0.defined()) {
    RSNN_CHECK(root.value().numel() == 1, "backward: output ", root.value().describe(),
               " is not a scalar; pass a seed gradient of the same shape");
    g0 = Tensor::full(root.shape(), 1.0, root.dtype(), root.device());
  } else {
    check_shape(g0, root.shape(), "backward seed");
    check_dtype(g0, root.dtype(), "backward seed");
    g0 = g0.to(root.device()).clone();
  }
  // Intermediate gradients, by VarImpl; leaves accumulate into VarImpl::grad.
  std::unordered_map<VarImpl*, Tensor> grads;
  auto deposit = [&](const Var& v, Tensor g) {
    if (!v.requires_grad()) return;
    if (v.is_leaf()) {
      Tensor& slot = v.impl()->grad;
      if (!slot.defined()) {
        slot = g.clone();  // a leaf's gradient never aliases a tensor an op may reuse
      } else {
        kernels::accumulate_(slot, g);
      }
    } else {
      Engine::add_into(grads[v.impl().get()], std::move(g));
    }
  };
  if (root.is_leaf()) {
    deposit(root, g0);
    return;
  }
  grads[root.impl().get()] = g0;
  for (Node* n : Engine::order(root.creator().get())) {
    RSNN_CHECK(n->backward, "backward: the graph through op '", n->name,
               "' was already released; pass retain_graph = true to back-propagate twice");
    std::vector<Tensor> gout(n->outputs.size());
    bool any = false;
    for (size_t k = 0; k < n->outputs.size(); ++k) {
      auto impl = n->outputs[k].lock();
      auto it = impl ? grads.find(impl.get()) : grads.end();
      if (it != grads.end()) {
        gout[k] = std::move(it->second);
        grads.erase(it);
        any = true;
      } else {
        gout[k] = Tensor::zeros(n->output_shapes[k], n->output_dtypes[k], n->output_devices[k]);
      }
    }
    if (!any) continue;  // nothing flows through this node
    std::vector<Tensor> gin = n->backward(gout);
    RSNN_CHECK(gin.size() == n->inputs.size(), "backward of op '", n->name, "' returned ",
               gin.size(), " gradients for ", n->inputs.size(), " inputs");
    for (size_t i = 0; i < gin.size(); ++i) {
      if (!gin[i].defined()) continue;
      const Var& in = n->inputs[i];
      RSNN_CHECK(gin[i].shape() == in.shape() && gin[i].dtype() == in.dtype(), "backward of op '",
                 n->name, "': gradient for input ", i, " is ", gin[i].describe(),
                 ", the input is ", in.value().describe());
      deposit(in, std::move(gin[i]));
    }
    if (!retain_graph) n->backward = nullptr;
  }
}

}  // namespace rsnn::ag
