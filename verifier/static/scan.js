// Camera scanning for the inspector page (the only script of the web pages).
// Uses getUserMedia and the vendored jsQR decoder (/static/jsQR.js); a decoded
// EC1: text is put into the page's QR-text form and submitted, so the result is
// the same server-rendered page as for an uploaded photo.
(function () {
  "use strict";
  var section = document.getElementById("camera-section");
  var button = document.getElementById("start-camera");
  var video = document.getElementById("video");
  var message = document.getElementById("camera-message");
  var form = document.getElementById("qr-form");
  var field = document.getElementById("qr-text");
  if (!section || !button || !video || !form || !field || typeof jsQR !== "function") return;
  section.hidden = false;
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null;
  function stop() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
  }
  function tick() {
    if (!stream) return;
    if (video.readyState === video.HAVE_ENOUGH_DATA && video.videoWidth > 0) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var code = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      if (code && code.data && code.data.indexOf("EC1:") === 0) {
        stop();
        field.value = code.data;
        form.submit();
        return;
      }
    }
    window.requestAnimationFrame(tick);
  }
  button.addEventListener("click", function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      message.textContent = message.getAttribute("data-unavailable");
      return;
    }
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.setAttribute("playsinline", "");
        video.hidden = false;
        video.play();
        message.textContent = message.getAttribute("data-help");
        window.requestAnimationFrame(tick);
      })
      .catch(function () {
        message.textContent = message.getAttribute("data-unavailable");
      });
  });
})();
