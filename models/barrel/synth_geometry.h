// Small 3-D geometry for the synthetic whisker-sweep generator: vectors, rotations, and
// signed distance functions (SDF: negative inside, positive outside, |value| <= distance to
// the surface, so marching by |value| never steps over a surface) of the three object
// classes. Objects are built in a local frame of unit size (largest dimension about 1).
#pragma once
#include <algorithm>
#include <cmath>

namespace rsnn::barrel::geom {

struct Vec3 {
  double x = 0, y = 0, z = 0;
};
inline Vec3 operator+(Vec3 a, Vec3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline Vec3 operator-(Vec3 a, Vec3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline Vec3 operator*(double s, Vec3 a) { return {s * a.x, s * a.y, s * a.z}; }
inline double dot(Vec3 a, Vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline Vec3 cross(Vec3 a, Vec3 b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
inline double norm(Vec3 a) { return std::sqrt(dot(a, a)); }
inline Vec3 normalized(Vec3 a) {
  const double n = norm(a);
  return n > 0 ? (1.0 / n) * a : a;
}
inline Vec3 vabs(Vec3 a) { return {std::fabs(a.x), std::fabs(a.y), std::fabs(a.z)}; }
inline Vec3 vmax(Vec3 a, double m) { return {std::max(a.x, m), std::max(a.y, m), std::max(a.z, m)}; }

// Row-major 3x3 rotation matrix.
struct Mat3 {
  double m[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  Vec3 operator*(Vec3 v) const {
    return {m[0] * v.x + m[1] * v.y + m[2] * v.z, m[3] * v.x + m[4] * v.y + m[5] * v.z,
            m[6] * v.x + m[7] * v.y + m[8] * v.z};
  }
  Vec3 transposed_times(Vec3 v) const {
    return {m[0] * v.x + m[3] * v.y + m[6] * v.z, m[1] * v.x + m[4] * v.y + m[7] * v.z,
            m[2] * v.x + m[5] * v.y + m[8] * v.z};
  }
  Mat3 operator*(const Mat3& b) const {
    Mat3 r;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        double s = 0;
        for (int k = 0; k < 3; ++k) s += m[i * 3 + k] * b.m[k * 3 + j];
        r.m[i * 3 + j] = s;
      }
    return r;
  }
};

inline Mat3 rotation_z(double rad) {
  const double c = std::cos(rad), s = std::sin(rad);
  Mat3 r;
  r.m[0] = c; r.m[1] = -s; r.m[2] = 0;
  r.m[3] = s; r.m[4] = c;  r.m[5] = 0;
  r.m[6] = 0; r.m[7] = 0;  r.m[8] = 1;
  return r;
}

// Rotation of a unit quaternion (w, x, y, z).
inline Mat3 rotation_from_quaternion(double w, double x, double y, double z) {
  const double n = std::sqrt(w * w + x * x + y * y + z * z);
  w /= n; x /= n; y /= n; z /= n;
  Mat3 r;
  r.m[0] = 1 - 2 * (y * y + z * z); r.m[1] = 2 * (x * y - w * z);     r.m[2] = 2 * (x * z + w * y);
  r.m[3] = 2 * (x * y + w * z);     r.m[4] = 1 - 2 * (x * x + z * z); r.m[5] = 2 * (y * z - w * x);
  r.m[6] = 2 * (x * z - w * y);     r.m[7] = 2 * (y * z + w * x);     r.m[8] = 1 - 2 * (x * x + y * y);
  return r;
}

// ---- primitives (exact distances unless noted) ----

// Box of half-extents h with edges rounded by radius r (h includes the rounding).
inline double sd_box(Vec3 p, Vec3 h, double r = 0) {
  const Vec3 q = vabs(p) - Vec3{h.x - r, h.y - r, h.z - r};
  return norm(vmax(q, 0.0)) + std::min(std::max(q.x, std::max(q.y, q.z)), 0.0) - r;
}

// Capsule: segment a-b thickened by radius r.
inline double sd_capsule(Vec3 p, Vec3 a, Vec3 b, double r) {
  const Vec3 pa = p - a, ba = b - a;
  const double h = std::clamp(dot(pa, ba) / dot(ba, ba), 0.0, 1.0);
  return norm(pa - h * ba) - r;
}

// Ellipsoid with radii e: the gradient-normalised implicit value, a close approximation of the
// distance near the surface that never overestimates by much (scaled by 0.9 to stay a bound
// for the moderate aspect ratios used here).
inline double sd_ellipsoid(Vec3 p, Vec3 e) {
  const Vec3 q{p.x / e.x, p.y / e.y, p.z / e.z};
  const Vec3 g{p.x / (e.x * e.x), p.y / (e.y * e.y), p.z / (e.z * e.z)};
  const double k0 = norm(q), k1 = norm(g);
  if (k1 == 0) return -std::min(e.x, std::min(e.y, e.z));
  return 0.9 * k0 * (k0 - 1.0) / k1;
}

// ---- the three object classes ----

// Helmet: hollow half-ellipsoid shell (dome) open at the bottom, with an optional brim around
// the rim. Local frame: x front-back (length 1), y across, z up; the rim at z = 0.
struct HelmetShape {
  Vec3 radii{0.5, 0.42, 0.36};  // outer half-axes
  double thickness = 0.05;
  double brim = 0.0;            // brim width beyond the outer shell (0 = none)
  double sdf(Vec3 p) const {
    const double outer = sd_ellipsoid(p, radii);
    const Vec3 inner_r{radii.x - thickness, radii.y - thickness, radii.z - thickness};
    const double inner = sd_ellipsoid(p, inner_r);
    double shell = std::max(outer, -inner);
    shell = std::max(shell, -(p.z + 0.02));  // keep z >= -0.02: the dome only
    if (brim > 0) {
      const Vec3 br{radii.x + brim, radii.y + brim, 0.015};
      const double ring = std::max(sd_ellipsoid(p - Vec3{0, 0, -0.005}, br), -inner);
      shell = std::min(shell, ring);
    }
    return shell;
  }
  Vec3 half_extent() const { return {radii.x + brim, radii.y + brim, radii.z}; }
};

// Box ("microwave"): a rounded cuboid with an optional handle bar on its front face.
struct BoxShape {
  Vec3 half{0.5, 0.35, 0.3};
  double rounding = 0.02;
  bool handle = false;
  double sdf(Vec3 p) const {
    double d = sd_box(p, half, rounding);
    if (handle) {
      const Vec3 c{half.x + 0.025, half.y * 0.7, 0};
      d = std::min(d, sd_box(p - c, Vec3{0.03, 0.025, half.z * 0.7}, 0.01));
    }
    return d;
  }
  Vec3 half_extent() const { return {half.x + (handle ? 0.06 : 0.0), half.y, half.z}; }
};

// Plane (airliner/jet): capsule fuselage along x, two swept wings, a vertical fin and a
// horizontal tail plane.
struct PlaneShape {
  double length = 1.0;        // fuselage, nose at +x
  double radius = 0.06;       // fuselage radius
  double span = 0.9;          // wing tip to wing tip
  double chord = 0.16;        // wing depth
  double sweep = 0.4;         // wing sweep angle (rad)
  double wing_thickness = 0.025;
  double sdf(Vec3 p) const {
    const double hl = 0.5 * length;
    double d = sd_capsule(p, Vec3{-hl + radius, 0, 0}, Vec3{hl - radius, 0, 0}, radius);
    // Wings: boxes rotated about z by +-sweep, roots at the fuselage axis.
    const double half_span = 0.5 * span;
    for (int side = -1; side <= 1; side += 2) {
      const double a = side * sweep;
      const double c = std::cos(a), s = std::sin(a);
      // Wing frame: u along the chord, v along the span; the root sits at x = 0.05.
      const Vec3 q = p - Vec3{0.05, 0, 0};
      const Vec3 w{c * q.x + s * q.y, -s * q.x + c * q.y, q.z};  // rotate by -a
      const Vec3 centre{0, side * 0.5 * half_span, 0};
      d = std::min(d, sd_box(w - centre, Vec3{0.5 * chord, 0.5 * half_span, 0.5 * wing_thickness}));
    }
    // Tail: vertical fin and horizontal stabiliser near the back.
    const double xt = -hl + 0.08;
    d = std::min(d, sd_box(p - Vec3{xt, 0, radius + 0.06}, Vec3{0.06, 0.5 * wing_thickness, 0.08}));
    d = std::min(d, sd_box(p - Vec3{xt, 0, 0.02}, Vec3{0.05, 0.17, 0.5 * wing_thickness}));
    return d;
  }
  Vec3 half_extent() const {
    const double y = 0.5 * span * std::cos(sweep) + chord;
    return {0.5 * length + 0.5 * span * std::sin(sweep), std::max(y, 0.17), radius + 0.14};
  }
};

}  // namespace rsnn::barrel::geom
