// Saved rate models: native HDF5 round trip, clear errors, and the MATLAB v7.3 export through
// libmatio (MAT header in the user block, MATLAB_class attributes, column-major layout). The
// v5 export and original .mat models: tests/test_rate_mat.cpp.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>

#include "models/rate/model_file.h"
#include "models/rate/rate_train.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::rate;

namespace {
RateModel small_trained() {
  TrainConfig cfg;
  cfg.stages = {task_defaults(TaskKind::xor_task)};
  cfg.net.N = 16;
  cfg.net.som_N = 1;
  cfg.net.P_inh = 0.3;
  cfg.max_trials = 3;
  cfg.eval_trials = 5;
  cfg.seed = 4;
  TrainResult r = train_rate(cfg);
  RateModel m = model_from_training(r, cfg);
  m.scaling_factors = {20, 25};
  m.all_perfs = {0.5, 0.75};
  m.opt_scaling_factor = 25;
  return m;
}

std::string read_attr(hid_t ds, const char* name) {
  hid_t a = H5Aopen(ds, name, H5P_DEFAULT);
  if (a < 0) return "";
  hid_t t = H5Aget_type(a);
  std::string s(H5Tget_size(t), '\0');
  H5Aread(a, t, s.data());
  H5Tclose(t);
  H5Aclose(a);
  return s;
}
}  // namespace

TEST(RateModelFile, NativeRoundTrip) {
  RateModel m = small_trained();
  // make a weight negative: the file holds relu(w), as the original
  auto w = m.net.w.to_vector<float>();
  w[3] = -0.5f;
  m.net.w = Tensor::from_vector(w, {16, 16});
  const rsnn::test::TempDir tmp("rsnn_rate_model");
  const std::string path = tmp.path("model.h5");
  save_rate_model(path, m);
  RateModel b = load_rate_model(path);
  EXPECT_EQ(b.net.N(), 16);
  EXPECT_EQ(b.task.kind, TaskKind::xor_task);
  EXPECT_EQ(b.task.T, 300);
  EXPECT_EQ(b.net.cfg.taus, m.net.cfg.taus);
  EXPECT_EQ(b.net.cfg.som_N, 1);
  EXPECT_EQ(b.net.inh, m.net.inh);
  EXPECT_EQ(b.net.som_units, m.net.som_units);
  auto wb = b.net.w.to_vector<float>();
  for (size_t k = 0; k < w.size(); ++k) EXPECT_EQ(wb[k], std::max(w[k], 0.f));
  EXPECT_EQ(b.net.sign.to_vector<float>(), m.net.sign.to_vector<float>());
  EXPECT_EQ(b.net.som_m.to_vector<float>(), m.net.som_m.to_vector<float>());
  EXPECT_EQ(b.net.w_in.to_vector<float>(), m.net.w_in.to_vector<float>());
  EXPECT_EQ(b.net.w_out.to_vector<float>(), m.net.w_out.to_vector<float>());
  EXPECT_EQ(b.net.taus_gaus.to_vector<float>(), m.net.taus_gaus.to_vector<float>());
  EXPECT_EQ(b.net.taus_gaus0.to_vector<float>(), m.net.taus_gaus0.to_vector<float>());
  EXPECT_FLOAT_EQ(b.net.b_out.item<float>(), m.net.b_out.item<float>());
  EXPECT_EQ(b.losses, m.losses);
  EXPECT_EQ(b.tr, m.tr);
  EXPECT_EQ(b.all_perfs, m.all_perfs);
  ASSERT_TRUE(b.eval_os.defined() && b.x.defined() && b.u.defined() && b.x0.defined());
  EXPECT_EQ(b.eval_os.to_vector<float>(), m.eval_os.to_vector<float>());
  EXPECT_EQ(b.eval_labels, m.eval_labels);
  EXPECT_EQ(b.x.to_vector<float>(), m.x.to_vector<float>());
  EXPECT_EQ(b.r0.to_vector<float>(), m.r0.to_vector<float>());
  EXPECT_EQ(b.u.to_vector<float>(), m.u.to_vector<float>());
  EXPECT_EQ(b.opt_scaling_factor, 25);
  // the reloaded network computes the same outputs
  EvalResult e1 = evaluate_rate(m.net, m.task, m.loss, 3, 0, 4), e2 = evaluate_rate(b.net, b.task, b.loss, 3, 0, 4);
  EXPECT_EQ(e1.o.to_vector<float>(), e2.o.to_vector<float>());
}

TEST(RateModelFile, ClearErrors) {
  try {
    load_rate_model("/nonexistent/model.h5");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.h5"), std::string::npos);
  }
  // an HDF5 file with a wrongly shaped dataset names it
  RateModel m = small_trained();
  const rsnn::test::TempDir tmp("rsnn_rate_model");
  const std::string path = tmp.path("bad.h5");
  save_rate_model(path, m);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  H5Ldelete(f, "w_out", H5P_DEFAULT);
  hsize_t dims[2] = {1, 3};
  hid_t sp = H5Screate_simple(2, dims, nullptr);
  hid_t ds = H5Dcreate2(f, "w_out", H5T_NATIVE_FLOAT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  float v[3] = {1, 2, 3};
  H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
  H5Dclose(ds);
  H5Sclose(sp);
  H5Fclose(f);
  try {
    load_rate_model(path);
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("w_out"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[1, 16]"), std::string::npos) << msg;
  }
}

TEST(RateModelFile, MatlabExport) {
  RateModel m = small_trained();
  const rsnn::test::TempDir tmp("rsnn_rate_model");
  const std::string path = tmp.path("model.mat");
  export_matlab(path, m, MatVersion::v73);
  {
    std::ifstream f(path, std::ios::binary);
    char head[128];
    f.read(head, 128);
    EXPECT_EQ(std::string(head, 19), "MATLAB 7.3 MAT-file");
    EXPECT_EQ(head[126], 'I');
    EXPECT_EQ(head[127], 'M');
  }
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0) << "the .mat must be a valid HDF5 file after its 512-byte user block";
  hid_t fcpl = H5Fget_create_plist(f);
  hsize_t ub = 0;
  H5Pget_userblock(fcpl, &ub);
  H5Pclose(fcpl);
  EXPECT_EQ(ub, 512u);
  // w_in is N x C in MATLAB: stored column-major, i.e. HDF5 dims (C, N)
  hid_t ds = H5Dopen2(f, "w_in", H5P_DEFAULT);
  ASSERT_GE(ds, 0);
  EXPECT_EQ(read_attr(ds, "MATLAB_class"), "single");
  hid_t sp = H5Dget_space(ds);
  hsize_t dims[2];
  ASSERT_EQ(H5Sget_simple_extent_ndims(sp), 2);
  H5Sget_simple_extent_dims(sp, dims, nullptr);
  EXPECT_EQ(dims[0], 2u);
  EXPECT_EQ(dims[1], 16u);
  std::vector<float> v(32);
  H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  auto w_in = m.net.w_in.to_vector<float>();  // row-major (N, C)
  for (int i = 0; i < 16; ++i)
    for (int c = 0; c < 2; ++c) EXPECT_EQ(v[c * 16 + i], w_in[i * 2 + c]);
  H5Sclose(sp);
  H5Dclose(ds);
  for (const char* name : {"w", "w0", "m", "som_m", "w_out", "taus", "taus_gaus", "taus_gaus0", "N",
                           "inh", "exc", "b_out", "opt_scaling_factor", "all_perfs", "scaling_factors",
                           "activation"}) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ASSERT_GE(d, 0) << name;
    EXPECT_FALSE(read_attr(d, "MATLAB_class").empty()) << name;
    H5Dclose(d);
  }
  hid_t d = H5Dopen2(f, "inh", H5P_DEFAULT);
  EXPECT_EQ(read_attr(d, "MATLAB_class"), "logical");
  H5Dclose(d);
  H5Fclose(f);
}
