#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "runtime/random.h"

namespace rsnn::ag {

namespace {
double objective(const Tensor& out, const std::vector<double>& r) {
  std::vector<double> v = out.to_vector<double>();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * r[i];
  return s;
}
}  // namespace

GradCheckResult gradcheck(const VarFn& f, const std::vector<Tensor>& inputs,
                          const GradCheckOptions& opt) {
  GradCheckResult res;
  std::vector<bool> wrt = opt.wrt;
  if (wrt.empty())
    for (const Tensor& t : inputs) wrt.push_back(is_floating(t.dtype()));
  RSNN_CHECK(wrt.size() == inputs.size(), "gradcheck: wrt has ", wrt.size(), " entries for ",
             inputs.size(), " inputs");
  for (size_t i = 0; i < inputs.size(); ++i)
    RSNN_CHECK(!wrt[i] || inputs[i].dtype() == DType::f64, "gradcheck: input ", i,
               " must be float64, got ", dtype_name(inputs[i].dtype()));

  // Analytic gradients.
  std::vector<Var> vars;
  for (size_t i = 0; i < inputs.size(); ++i) vars.emplace_back(inputs[i].clone(), bool(wrt[i]));
  Var out = f(vars);
  Tensor r_t = Tensor::empty(out.shape(), DType::f64, Device::cpu());
  fill_normal(r_t, opt.seed, 0, 0.0, 1.0);
  const std::vector<double> r = r_t.to_vector<double>();
  if (out.requires_grad()) backward(out, r_t.to(out.device()));

  // Numeric gradients, one element at a time.
  NoGradGuard no_grad;
  std::ostringstream first_failure;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!wrt[i]) continue;
    std::vector<double> analytic(static_cast<size_t>(inputs[i].numel()), 0.0);
    if (vars[i].grad().defined()) analytic = vars[i].grad().to_vector<double>();
    Tensor host = inputs[i].to(Device::cpu()).clone();
    double* x = host.data<double>();
    for (int64_t j = 0; j < host.numel(); ++j) {
      const double x0 = x[j];
      std::vector<Var> args = vars;
      x[j] = x0 + opt.eps;
      args[i] = Var(host.to(inputs[i].device()).clone());
      const double fp = objective(f(args).value(), r);
      x[j] = x0 - opt.eps;
      args[i] = Var(host.to(inputs[i].device()).clone());
      const double fm = objective(f(args).value(), r);
      x[j] = x0;
      const double numeric = (fp - fm) / (2 * opt.eps);
      const double a = analytic[static_cast<size_t>(j)];
      const double abs_err = std::fabs(a - numeric);
      const double rel_err = abs_err / std::max(std::fabs(numeric), 1e-12);
      res.max_abs_err = std::max(res.max_abs_err, abs_err);
      if (abs_err > opt.atol) res.max_rel_err = std::max(res.max_rel_err, rel_err);
      res.checked++;
      if (abs_err > opt.atol + opt.rtol * std::fabs(numeric) && res.ok) {
        res.ok = false;
        first_failure << "input " << i << " element " << j << ": analytic " << a << ", numeric "
                      << numeric << " (abs err " << abs_err << ")";
      }
    }
  }
  std::ostringstream rep;
  if (!res.ok) rep << "gradient mismatch at " << first_failure.str() << "; ";
  rep << res.checked << " elements checked, max abs err " << res.max_abs_err
      << ", max rel err " << res.max_rel_err;
  res.report = rep.str();
  return res;
}

}  // namespace rsnn::ag
