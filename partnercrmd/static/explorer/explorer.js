// The API explorer page: Swagger UI over the daemon's own openapi.json, "Try it out" on.
//
// Every call is made as the explorer's own application (registered and approved for the signed-in user when
// the page was served): its ApplicationId comes from the page's data-application-id and is added to every
// request to this daemon by the request interceptor. Requests anywhere else get no ApplicationId; the spec names
// only this daemon as its server, and validatorUrl is off (Swagger UI would otherwise load a badge from the web).
/* global SwaggerUIBundle */
(() => {
  const root = document.getElementById("explorer");
  const applicationId = root.dataset.applicationId;

  function toThisDaemon(url) {
    try {
      return new URL(url, window.location.href).origin === window.location.origin;
    } catch {
      return false;
    }
  }

  const ui = SwaggerUIBundle({
    domNode: root,
    url: root.dataset.specUrl,
    validatorUrl: null,
    deepLinking: false,
    queryConfigEnabled: false,
    persistAuthorization: false,
    tryItOutEnabled: true,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    supportedSubmitMethods: ["get", "post"],
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: (request) => {
      if (toThisDaemon(request.url)) {
        request.headers.ApplicationId = applicationId;
      }
      return request;
    },
    onComplete: () => {
      // Shown as authorised, so the curl line of each call carries the same header the interceptor adds.
      ui.preauthorizeApiKey("ApplicationId", applicationId);
      root.setAttribute("aria-busy", "false");
    },
  });
})();
