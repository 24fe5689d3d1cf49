// The API explorer page: Swagger UI over the daemon's own openapi.json, "Try it out" on.
//
// Every call is made as the explorer's own application (registered and approved for the signed-in user when
// the page was served): its ApplicationId comes from the page's data-application-id and is added to every
// request to this daemon by the request interceptor. Requests anywhere else get no ApplicationId; the spec names
// only this daemon (the page's own origin) as its server, and validatorUrl is off (Swagger UI would otherwise
// load a badge from the web).
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

  function start(spec) {
    // The page's own origin is the server: the same daemon, on whichever address and scheme the user opened.
    spec.servers = [{ url: window.location.origin }];
    const ui = SwaggerUIBundle({
      domNode: root,
      spec,
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
  }

  fetch(root.dataset.specUrl, { credentials: "omit" })
    .then((response) => {
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      return response.json();
    })
    .then(start)
    .catch((error) => {
      root.textContent = `The API description could not be read (${error.message}); reload the page.`;
      root.setAttribute("aria-busy", "false");
    });
})();
