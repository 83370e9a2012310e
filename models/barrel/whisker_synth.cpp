#include "models/barrel/whisker_synth.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "runtime/philox.h"

namespace rsnn::barrel {

using geom::Mat3;
using geom::Vec3;

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180.0;
constexpr double kFrameDt = 0.1;            // s between frames (Bullet: 24 steps of 1/240 s)
constexpr int kUnits = 20;                  // whisker units; joints j at s = j * L / 20
constexpr int kCurvePoints = 64;            // samples along each whisker
constexpr double kYoung = 3300.0;           // N/mm^2 (3.3 GPa)
constexpr double kTipRatio = 0.06;          // tip radius / base radius
constexpr double kForceUnit = 1e-6;         // N per force unit (1 uN)
constexpr double kFriction = 0.3;
constexpr double kNoise = 0.03;             // relative sensor noise
constexpr double kSlipFraction = 0.5;       // deflection saturates at this fraction of s_c
constexpr double kMinStep = 0.2;            // mm, marching step inside/near the object
constexpr double kXOffset[3] = {0.0, -20.0, 20.0};
// Pad surface and the centre of the whisker field (mm, head frame), for placing objects.
constexpr double kPadX = 6.0, kFieldY = -8.0, kFieldZ = -4.0;

// Towal et al. (2011) RatMap fits; COL = column + 1, ROW = row + 1.
WhiskerGeometry make_whisker(int row, int col) {
  WhiskerGeometry w;
  w.row = row;
  w.col = col;
  w.name = std::string(1, static_cast<char>('A' + row)) + std::to_string(col);
  const double R = row + 1, C = col + 1;
  // Base point on the pad ellipsoid (centre, radii, orientation angles z-y-x in degrees).
  const double ec[3] = {1.9128, -7.6549, -5.4439}, er[3] = {9.5304, 5.5393, 6.9745};
  const double oa[3] = {106.5100, -2.5211, -19.5401};
  const double th = (15.2953 * C - 144.2220) * kDeg, ph = (18.2237 * R + 34.7558) * kDeg;
  const double st = std::sin(th), ct = std::cos(th), sp = std::sin(ph), cp = std::cos(ph);
  const double rad = 1.0 / std::sqrt(ct * ct * sp * sp / (er[0] * er[0]) +
                                     st * st * sp * sp / (er[1] * er[1]) + cp * cp / (er[2] * er[2]));
  const Vec3 p{rad * ct * sp, rad * st * sp, rad * cp};
  const double cx = std::cos(oa[2] * kDeg), sx = std::sin(oa[2] * kDeg);
  const double cy = std::cos(oa[1] * kDeg), sy = std::sin(oa[1] * kDeg);
  const double cz = std::cos(oa[0] * kDeg), sz = std::sin(oa[0] * kDeg);
  Mat3 A;
  const double a[9] = {cy * cz, cz * sx * sy - cx * sz, sx * sz + cx * cz * sy,
                       cy * sz, cx * cz + sx * sy * sz, cx * sy * sz - cz * sx,
                       -sy,     cy * sx,                cx * cy};
  std::copy(a, a + 9, A.m);
  w.base = A * p + Vec3{ec[0], ec[1], ec[2]};
  w.length = -7.9312 * C + 2.2224 * R + 52.1110;
  w.curvature = std::exp(1.0 / (-0.02052 * C - 0.2045));
  // Emergence: azimuth from the caudal axis towards lateral, elevation above horizontal.
  const double az = (10.6475 * C + 37.3178) * kDeg;
  const double el = (1.0988 * C - 18.0334 * R + 50.6005) * kDeg;
  w.dir = Vec3{std::cos(el) * std::sin(az), -std::cos(el) * std::cos(az), std::sin(el)};
  // Concave side rostral-ventral.
  const Vec3 v{0.0, 1.0, -0.5};
  w.bend = geom::normalized(v - geom::dot(v, w.dir) * w.dir);
  w.base_diameter = 0.04 + 0.0025 * w.length;
  return w;
}

std::vector<WhiskerGeometry> make_array() {
  std::vector<WhiskerGeometry> out;
  const int first[5] = {0, 0, 0, 0, 1}, last[5] = {4, 5, 6, 6, 6};
  for (int r = 0; r < 5; ++r)
    for (int c = first[r]; c <= last[r]; ++c) out.push_back(make_whisker(r, c));
  return out;
}

// A whisker sampled along its arc length, with its bounding sphere and its compliance.
struct WhiskerCurve {
  double length = 0;
  Vec3 point[kCurvePoints];
  double compliance[kCurvePoints];  // mm of deflection per force unit for a load at that point
  Vec3 centre;
  double radius = 0;
  Vec3 at(double s) const {  // linear interpolation between samples
    const double u = std::clamp(s / length, 0.0, 1.0) * (kCurvePoints - 1);
    const int i = std::min(static_cast<int>(u), kCurvePoints - 2);
    const double f = u - i;
    return point[i] + f * (point[i + 1] - point[i]);
  }
  double compliance_at(double s) const {
    const double u = std::clamp(s / length, 0.0, 1.0) * (kCurvePoints - 1);
    const int i = std::min(static_cast<int>(u), kCurvePoints - 2);
    const double f = u - i;
    return compliance[i] + f * (compliance[i + 1] - compliance[i]);
  }
};

WhiskerCurve make_curve(const WhiskerGeometry& w) {
  WhiskerCurve c;
  c.length = w.length;
  // y = a x^2 in the (dir, bend) plane, sampled at equal arc-length steps:
  // arc(x) = x/2 sqrt(1 + 4a^2x^2) + asinh(2ax) / (4a), inverted by bisection.
  const double a = w.curvature;
  auto arc = [a](double x) {
    return 0.5 * x * std::sqrt(1 + 4 * a * a * x * x) + std::asinh(2 * a * x) / (4 * a);
  };
  for (int k = 0; k < kCurvePoints; ++k) {
    const double target = w.length * k / (kCurvePoints - 1);
    double lo = 0, hi = w.length;
    for (int it = 0; it < 60; ++it) {
      const double mid = 0.5 * (lo + hi);
      (arc(mid) < target ? lo : hi) = mid;
    }
    const double x = 0.5 * (lo + hi);
    c.point[k] = w.base + x * w.dir + (a * x * x) * w.bend;
  }
  // Tapered beam: r(u) = r_b (1 - (1 - rho) u / L); C(s) = int_0^s (s - u)^2 / (E I(u)) du.
  const double rb = 0.5 * w.base_diameter;
  for (int j = 0; j < kCurvePoints; ++j) {
    const double s = w.length * j / (kCurvePoints - 1);
    const int n = 64;  // Simpson intervals (even)
    double sum = 0;
    for (int q = 0; q <= n; ++q) {
      const double u = s * q / n;
      const double r = rb * (1 - (1 - kTipRatio) * u / w.length);
      const double ei = kYoung * kPi * r * r * r * r / 4.0;
      const double wgt = (q == 0 || q == n) ? 1 : (q % 2 ? 4 : 2);
      sum += wgt * (s - u) * (s - u) / ei;
    }
    const double c_mm_per_newton = sum * (s / n) / 3.0;
    c.compliance[j] = c_mm_per_newton * kForceUnit;
  }
  Vec3 lo3 = c.point[0], hi3 = c.point[0];
  for (const Vec3& p : c.point) {
    lo3 = {std::min(lo3.x, p.x), std::min(lo3.y, p.y), std::min(lo3.z, p.z)};
    hi3 = {std::max(hi3.x, p.x), std::max(hi3.y, p.y), std::max(hi3.z, p.z)};
  }
  c.centre = 0.5 * (lo3 + hi3);
  for (const Vec3& p : c.point) c.radius = std::max(c.radius, geom::norm(p - c.centre));
  return c;
}

const std::vector<WhiskerCurve>& whisker_curves() {
  static const std::vector<WhiskerCurve> curves = [] {
    std::vector<WhiskerCurve> v;
    for (const auto& w : whisker_array()) v.push_back(make_curve(w));
    return v;
  }();
  return curves;
}

// Uniform (0, 1) number k of a sample's setting.
struct SampleRng {
  uint64_t seed, stream;
  int64_t sample;
  int k = 0;
  double uniform() { return philox::uniform_f64(seed, stream, static_cast<uint64_t>(sample) * 64 + k++); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal() {
    const double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * kPi * u2);
  }
};

// Two independent standard normals from Philox block `index` (Box-Muller, cos and sin).
void normal_pair(uint64_t seed, uint64_t stream, uint64_t index, double* a, double* b) {
  const philox::Words w = philox::block(seed, stream, index);
  const double r = std::sqrt(-2.0 * std::log(philox::to_unit_double(w.v[0], w.v[1])));
  const double phi = 2.0 * kPi * philox::to_unit_double(w.v[2], w.v[3]);
  *a = r * std::cos(phi);
  *b = r * std::sin(phi);
}

// Extent of the rotated local box of half-extents h along the head x axis.
double extent_x(const Mat3& R, Vec3 h) {
  return std::fabs(R.m[0]) * h.x + std::fabs(R.m[1]) * h.y + std::fabs(R.m[2]) * h.z;
}

}  // namespace

const std::vector<WhiskerGeometry>& whisker_array() {
  static const std::vector<WhiskerGeometry> arr = make_array();
  return arr;
}

double SceneParams::sdf_local(Vec3 p) const {
  switch (label) {
    case 0: return helmet.sdf(p);
    case 1: return box.sdf(p);
    default: return plane.sdf(p);
  }
}

Vec3 SceneParams::half_extent_local() const {
  switch (label) {
    case 0: return helmet.half_extent();
    case 1: return box.half_extent();
    default: return plane.half_extent();
  }
}

SceneParams scene_params(uint64_t seed, uint64_t stream, int64_t sample, int label) {
  RSNN_CHECK(label >= 0 && label < kClasses, "scene_params: class id ", label, " is outside 0..2");
  SampleRng rng{seed, stream, sample};
  SceneParams s;
  s.label = label;
  s.scale = 25.0 + 110.0 * rng.uniform();
  s.speed = -7.0 - 7.0 * rng.uniform();
  const double qw = rng.normal(), qx = rng.normal(), qy = rng.normal(), qz = rng.normal();
  s.rotation = geom::rotation_from_quaternion(qw, qx, qy, qz);
  // Shape variation within the class (all drawn, so the counters do not depend on the class).
  s.helmet.radii = Vec3{0.5, 0.5 * rng.uniform(0.72, 0.92), 0.5 * rng.uniform(0.6, 0.85)};
  s.helmet.thickness = rng.uniform(0.035, 0.07);
  const double has_brim = rng.uniform(), brim = rng.uniform(0.03, 0.08);
  s.helmet.brim = has_brim < 0.5 ? brim : 0.0;
  s.box.half = Vec3{0.5, 0.5 * rng.uniform(0.5, 0.85), 0.5 * rng.uniform(0.4, 0.75)};
  s.box.rounding = rng.uniform(0.01, 0.04);
  s.box.handle = rng.uniform() < 0.5;
  s.plane.radius = rng.uniform(0.045, 0.075);
  s.plane.span = rng.uniform(0.7, 1.0);
  s.plane.chord = rng.uniform(0.1, 0.2);
  s.plane.sweep = rng.uniform(0.1, 0.6);
  s.plane.wing_thickness = rng.uniform(0.02, 0.035);
  // Position: the near side of the object `gap` mm lateral of the pad, crossing the middle
  // of the whisker field half-way through the sweep.
  const double gap = rng.uniform(0.0, 20.0);
  const double hx = s.scale * extent_x(s.rotation, s.half_extent_local());
  const double y_mid = kFieldY + rng.uniform(-12.0, 12.0);
  const double t_mid = 0.5 * (kFrames - 1) * kFrameDt;
  s.center = Vec3{kPadX + gap + hx, y_mid - s.speed * t_mid, kFieldZ + rng.uniform(-12.0, 12.0)};
  return s;
}

void simulate_sample(const SceneParams& scene, uint64_t seed, uint64_t stream, int64_t sample,
                     float* force, float* torque) {
  const auto& curves = whisker_curves();
  constexpr int64_t kFrameSize = kWhiskers * kSegments * kAxes;
  constexpr int64_t kSweepSize = kFrames * kFrameSize;
  std::fill_n(force, kSweeps * kSweepSize, 0.0f);
  std::fill_n(torque, kSweeps * kSweepSize, 0.0f);
  const double S = scene.scale;
  const double bound = S * geom::norm(scene.half_extent_local());
  const Vec3 velocity{0.0, scene.speed, 0.0};
  const uint64_t noise_stream = stream ^ 0x5eed000000000000ull;
  for (int64_t sw = 0; sw < kSweeps; ++sw) {
    const int pos = static_cast<int>(sw / 4), rot = static_cast<int>(sw % 4);
    const Mat3 R = geom::rotation_z(rot * 0.5 * kPi) * scene.rotation;
    const Vec3 c0 = scene.center + Vec3{kXOffset[pos], 0.0, 0.0};
    // Stick state per whisker: the object surface point (local frame) that holds the whisker
    // at arc length s since the last penetration, until the deflection exceeds the slip limit.
    struct Stick {
      bool active = false;
      double s = 0;
      Vec3 q_local;
    } stick[kWhiskers];
    for (int64_t f = 0; f < kFrames; ++f) {
      const Vec3 c = c0 + Vec3{0.0, scene.speed * kFrameDt * f, 0.0};
      auto to_local = [&](Vec3 p) { return (1.0 / S) * R.transposed_times(p - c); };
      // Signed distance in mm from a head-frame point to the object's surface.
      auto dist = [&](Vec3 p) { return S * scene.sdf_local(to_local(p)); };
      for (int64_t w = 0; w < kWhiskers; ++w) {
        const WhiskerCurve& wc = curves[w];
        Stick& st = stick[w];
        if (geom::norm(wc.centre - c) > bound + wc.radius) {  // object out of reach
          st.active = false;
          continue;
        }
        // March from just beyond the measured joints to the tip, never stepping over a surface.
        const double s_min = (kSegments - 0.5) * wc.length / kUnits;
        double best_d = std::numeric_limits<double>::infinity(), best_s = 0;
        double s = s_min;
        while (true) {
          const double d = dist(wc.at(s));
          if (d < best_d) {
            best_d = d;
            best_s = s;
          }
          if (s >= wc.length) break;
          s = std::min(wc.length, s + (d > 0 ? std::max(d, kMinStep) : std::max(0.3 * -d, kMinStep)));
        }
        Vec3 disp;  // deflection of the whisker at the contact (mm), pointing out of the object
        double s_c = 0;
        bool penetrating = false;
        if (best_d < 0) {
          // The rest position is inside the object: pushed out along the surface normal.
          const Vec3 xc = wc.at(best_s);
          const double h = 0.05;
          const Vec3 g{dist(xc + Vec3{h, 0, 0}) - dist(xc - Vec3{h, 0, 0}),
                       dist(xc + Vec3{0, h, 0}) - dist(xc - Vec3{0, h, 0}),
                       dist(xc + Vec3{0, 0, h}) - dist(xc - Vec3{0, 0, h})};
          if (geom::norm(g) == 0) continue;
          disp = (-best_d) * geom::normalized(g);
          s_c = best_s;
          penetrating = true;
          st = Stick{true, s_c, to_local(xc + disp)};
        } else if (st.active) {
          // No penetration: the surface point that held the whisker drags it along.
          const Vec3 q = c + S * (R * st.q_local);
          const double ds = 0.5 * wc.length / (kCurvePoints - 1);
          const Vec3 t = geom::normalized(wc.at(st.s + ds) - wc.at(st.s - ds));
          Vec3 d = q - wc.at(st.s);
          d = d - geom::dot(d, t) * t;
          const double delta = geom::norm(d);
          if (delta > kSlipFraction * st.s || delta < 1e-3) {
            st.active = false;  // slipped off, or released
            continue;
          }
          disp = d;
          s_c = st.s;
        } else {
          continue;
        }
        const double delta = geom::norm(disp);
        const Vec3 n = (1.0 / delta) * disp;
        const double delta_max = kSlipFraction * s_c;
        const double fn = delta_max * std::tanh(delta / delta_max) / wc.compliance_at(s_c);
        Vec3 F = fn * n;
        if (penetrating) {  // kinetic friction while the surface slides past the whisker
          const Vec3 vt = velocity - geom::dot(velocity, n) * n;
          if (geom::norm(vt) > 1e-9) F = F + (kFriction * fn) * geom::normalized(vt);
        }
        const Vec3 xc = wc.at(s_c);
        const double fmag = geom::norm(F);
        for (int64_t j = 0; j < kSegments; ++j) {
          const Vec3 xj = wc.at(static_cast<double>(j) * wc.length / kUnits);
          const Vec3 tau = geom::cross(xc - xj, F);
          const double tmag = geom::norm(tau);
          const int64_t off = sw * kSweepSize + f * kFrameSize + (w * kSegments + j) * kAxes;
          const double fv[3] = {F.x, F.y, F.z}, tv[3] = {tau.x, tau.y, tau.z};
          // Sensor noise: one Philox block gives the force and torque noise of one axis.
          for (int64_t ax = 0; ax < kAxes; ++ax) {
            const uint64_t idx = static_cast<uint64_t>(sample * kSweeps * kSweepSize + off + ax);
            double nf, nt;
            normal_pair(seed, noise_stream, idx, &nf, &nt);
            force[off + ax] = static_cast<float>(fv[ax] + kNoise * fmag * nf);
            torque[off + ax] = static_cast<float>(tv[ax] + kNoise * tmag * nt);
          }
        }
      }
    }
  }
}

std::vector<int32_t> synth_labels(int64_t n, uint64_t seed, uint64_t stream) {
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<int32_t>(i % kClasses);
  const uint64_t perm_stream = stream ^ 0x1abe100000000000ull;
  for (int64_t i = n - 1; i > 0; --i) {
    const double u = philox::uniform_f64(seed, perm_stream, static_cast<uint64_t>(i));
    const int64_t j = std::min(static_cast<int64_t>(u * (i + 1)), i);
    std::swap(labels[i], labels[j]);
  }
  return labels;
}

WhiskerData synthesize_whisker_data(int64_t n, uint64_t seed, uint64_t stream,
                                    const std::function<void(int64_t)>& progress) {
  RSNN_CHECK(n >= 0, "synthesize_whisker_data: negative sample count ", n);
  WhiskerData d = WhiskerData::zeros(n);
  const std::vector<int32_t> labels = synth_labels(n, seed, stream);
  std::copy(labels.begin(), labels.end(), d.label.data<int32_t>());
  float* force = d.force.data<float>();
  float* torque = d.torque.data<float>();
  const int64_t per_sample = kSweeps * kFrames * kWhiskers * kSegments * kAxes;
  whisker_curves();  // build the static tables before the threads start
  std::atomic<int64_t> done{0};
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < n; ++i) {
    const SceneParams scene = scene_params(seed, stream, i, labels[i]);
    simulate_sample(scene, seed, stream, i, force + i * per_sample, torque + i * per_sample);
    const int64_t now = ++done;
    if (progress) {
#pragma omp critical(rsnn_whisker_synth_progress)
      progress(now);
    }
  }
  return d;
}

WhiskerSummary summarize(const WhiskerData& d) {
  validate(d, "summarize");
  WhiskerSummary s;
  s.samples = d.size();
  const float* f = d.force.data<float>();
  const float* t = d.torque.data<float>();
  const int32_t* l = d.label.data<int32_t>();
  constexpr int64_t kFrameSize = kWhiskers * kSegments * kAxes;
  std::array<double, 3> fsum{}, tsum{}, contacts{}, frames_with{}, frames{};
  for (int64_t n = 0; n < s.samples; ++n) {
    const int c = l[n];
    ++s.count[c];
    for (int64_t sf = 0; sf < kSweeps * kFrames; ++sf) {
      const int64_t base = (n * kSweeps * kFrames + sf) * kFrameSize;
      bool any = false;
      for (int64_t w = 0; w < kWhiskers; ++w) {
        const float* fv = f + base + w * kSegments * kAxes;  // segment 0
        const float* tv = t + base + w * kSegments * kAxes;
        if (fv[0] == 0 && fv[1] == 0 && fv[2] == 0) continue;
        any = true;
        contacts[c] += 1;
        fsum[c] += std::sqrt(double(fv[0]) * fv[0] + double(fv[1]) * fv[1] + double(fv[2]) * fv[2]);
        tsum[c] += std::sqrt(double(tv[0]) * tv[0] + double(tv[1]) * tv[1] + double(tv[2]) * tv[2]);
      }
      frames[c] += 1;
      frames_with[c] += any;
    }
  }
  double all_frames = 0, all_with = 0, all_contacts = 0;
  for (int c = 0; c < kClasses; ++c) {
    s.mean_force[c] = contacts[c] > 0 ? fsum[c] / contacts[c] : 0.0;
    s.mean_torque[c] = contacts[c] > 0 ? tsum[c] / contacts[c] : 0.0;
    s.contact_frames[c] = frames[c] > 0 ? frames_with[c] / frames[c] : 0.0;
    s.contact_whiskers[c] = frames[c] > 0 ? contacts[c] / (frames[c] * kWhiskers) : 0.0;
    all_frames += frames[c];
    all_with += frames_with[c];
    all_contacts += contacts[c];
  }
  s.contact_frames_all = all_frames > 0 ? all_with / all_frames : 0.0;
  s.contact_whiskers_all = all_frames > 0 ? all_contacts / (all_frames * kWhiskers) : 0.0;
  return s;
}

}  // namespace rsnn::barrel
