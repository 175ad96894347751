// medius validation renderer: poses a rigged CC0 human bone by bone and renders it with three.js.
// Python (medius.validation.render) computes every pose, the camera and the truth; this page only
// skins and draws. Loaded from a fake origin that Playwright serves from the package folder, so
// nothing is fetched from the network.
import * as THREE from 'three';
import { GLTFLoader } from './three/GLTFLoader.js';

const state = { renderer: null, scene: null, camera: null, bones: {}, hips: null, mesh: null, opts: null };

function color(rgb) {
  return new THREE.Color().setRGB(rgb[0] / 255, rgb[1] / 255, rgb[2] / 255, THREE.SRGBColorSpace);
}

async function setup(opts) {
  state.opts = opts;
  const renderer = new THREE.WebGLRenderer({ antialias: !!opts.antialias, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(opts.width, opts.height, false);
  renderer.shadowMap.enabled = !!opts.shadows;
  renderer.shadowMap.type = THREE.PCFShadowMap;
  document.body.appendChild(renderer.domElement);
  state.renderer = renderer;

  const scene = new THREE.Scene();
  scene.background = color(opts.background);
  state.scene = scene;

  const hemi = new THREE.HemisphereLight(0xffffff, 0x444444, opts.light.ambient);
  scene.add(hemi);
  const key = new THREE.DirectionalLight(0xffffff, opts.light.key);
  key.position.set(...opts.light.key_dir);
  key.castShadow = !!opts.shadows;
  key.shadow.mapSize.set(1024, 1024);
  key.shadow.camera.left = -2; key.shadow.camera.right = 2;
  key.shadow.camera.top = 2.5; key.shadow.camera.bottom = -1;
  key.shadow.camera.near = 0.1; key.shadow.camera.far = 20;
  scene.add(key);

  const floor = new THREE.Mesh(new THREE.PlaneGeometry(40, 40),
    new THREE.MeshLambertMaterial({ color: color(opts.floor) }));
  floor.rotation.x = -Math.PI / 2;
  floor.receiveShadow = !!opts.shadows;
  scene.add(floor);
  if (opts.wall) {
    const wall = new THREE.Mesh(new THREE.PlaneGeometry(40, 12),
      new THREE.MeshLambertMaterial({ color: color(opts.wall) }));
    wall.position.set(0, 6, opts.wall_z);
    if (opts.wall_z > 0) wall.rotation.y = Math.PI;
    wall.receiveShadow = !!opts.shadows;
    scene.add(wall);
  }
  for (const p of opts.props || []) {
    // boxes (a step, a treadmill belt, a phone) and cylinders (a tripod's legs, a balance board)
    const geom = p.type === 'cylinder'
      ? new THREE.CylinderGeometry(p.radius, p.radius, p.length, 24)
      : new THREE.BoxGeometry(...p.size);
    const mesh = new THREE.Mesh(geom, new THREE.MeshLambertMaterial({ color: color(p.color) }));
    mesh.position.set(...p.center);
    if (p.quaternion) mesh.quaternion.set(...p.quaternion);
    mesh.castShadow = !!opts.shadows; mesh.receiveShadow = !!opts.shadows;
    scene.add(mesh);
  }
  for (const m of opts.markers || []) {
    const s = new THREE.Mesh(new THREE.SphereGeometry(m.radius, 24, 16),
      new THREE.MeshBasicMaterial({ color: color(m.color) }));
    s.position.set(...m.position);
    scene.add(s);
  }

  const gltf = await new GLTFLoader().loadAsync(opts.body_url);
  const root = gltf.scene;
  root.traverse((o) => {
    if (o.isBone) state.bones[o.name] = o;
    if (o.isSkinnedMesh || o.isMesh) {
      o.castShadow = !!opts.shadows;
      o.frustumCulled = false;
      const over = (opts.materials || {})[o.material.name];
      const base = over ? color(over) : o.material.color.clone();
      if (opts.cheap_materials) {
        const m = new THREE.MeshLambertMaterial({ color: base });
        m.name = o.material.name;
        o.material = m;
      } else if (over) o.material.color = base;
    }
  });
  if (opts.hide_body) root.visible = false;
  scene.add(root);
  state.hips = state.bones['mixamorigHips'];

  const c = opts.camera;
  const camera = new THREE.PerspectiveCamera(c.fov_deg, opts.width / opts.height, c.near, c.far);
  camera.position.set(...c.position);
  camera.quaternion.set(...c.quaternion);
  camera.updateMatrixWorld(true);
  state.camera = camera;
  return Object.keys(state.bones);
}

function pose(frame) {
  state.hips.position.set(...frame.root);
  for (const [name, q] of Object.entries(frame.bones)) {
    const b = state.bones[name];
    if (b) b.quaternion.set(q[0], q[1], q[2], q[3]);
  }
  state.scene.updateMatrixWorld(true);
}

// Render each frame and return it as a data URL (JPEG at the given quality, or PNG when quality is 0).
function render(frames, quality) {
  const out = [];
  const canvas = state.renderer.domElement;
  for (const f of frames) {
    pose(f);
    state.renderer.render(state.scene, state.camera);
    if (quality < 0) { out.push(""); continue; }
    out.push(quality > 0 ? canvas.toDataURL('image/jpeg', quality) : canvas.toDataURL('image/png'));
  }
  return out;
}

// World positions of the named bones' origins for one pose (the skinning check).
function boneWorld(frame, names) {
  pose(frame);
  const v = new THREE.Vector3();
  const out = {};
  for (const n of names) { state.bones[n].getWorldPosition(v); out[n] = [v.x, v.y, v.z]; }
  return out;
}

window.medius = { setup, render, boneWorld };
window.mediusReady = true;
